/**
 * Decision 0033: the member state that lived in one host's node folder (secret fingerprints, benefit
 * policies, bulk-export files), on SQLite and on a throw-away PostgreSQL (fails, never skips, if it
 * cannot start).
 */
import { describe } from 'vitest';
import { describeMemberStateContract } from '../../src/storage/contract-tests/member-state-contract.js';
import { contractAdapters } from './contract-adapters.js';

const adapters = contractAdapters('member_state_');

for (const adapter of adapters) describe(adapter.name, () => describeMemberStateContract(adapter));
