/**
 * The supply chain suite (test/supply/supply-chain.int.test.ts: capture, verification, the dispense
 * check, a recall reaching patients, the CLI), run again with each member's stores on its own database
 * of a throw-away PostgreSQL (startSupplyConsortium makes them when CARELEDGER_TEST_POSTGRES is 1).
 * Each test file runs in its own worker, so the variable does not reach other files.
 */
import { vi } from 'vitest';

process.env.CARELEDGER_TEST_POSTGRES = '1';
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });
await import('../supply/supply-chain.int.test.js');
