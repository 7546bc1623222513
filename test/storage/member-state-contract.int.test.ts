/**
 * Decision 0033: the member state that lived in one host's node folder (secret fingerprints, benefit
 * policies, bulk-export files), on SQLite and on a throw-away PostgreSQL (fails, never skips, if it
 * cannot start).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { describeMemberStateContract } from '../../src/storage/contract-tests/member-state-contract.js';
import {
  postgresAdapter,
  type StorageAdapter,
  sqliteAdapter,
} from '../../src/storage/contract-tests/storage-adapter.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

let server: TestPostgres | undefined;
beforeAll(async () => {
  server = await startTestPostgres();
});
afterAll(async () => {
  await server?.close();
});

const adapters: StorageAdapter[] = [
  sqliteAdapter(),
  postgresAdapter(async (name) => {
    if (server === undefined) throw new Error('the PostgreSQL test server did not start');
    return server.createDatabase(`member_state_${name}`);
  }),
];

for (const adapter of adapters) describe(adapter.name, () => describeMemberStateContract(adapter));
