/**
 * The FHIR REST interactions suite (test/node/fhir-interactions.int.test.ts), run again with the node's
 * stores on a throw-away PostgreSQL (startSoloNode starts one when CARELEDGER_TEST_POSTGRES is 1).
 * Each test file runs in its own worker, so the variable does not reach other files.
 */
import { vi } from 'vitest';

process.env.CARELEDGER_TEST_POSTGRES = '1';
// One round trip per statement: the Synthea transaction Bundle takes about three times as long as on
// SQLite (decision 0015), too close to the default bound on a loaded machine.
vi.setConfig({ testTimeout: 180_000 });
await import('../node/fhir-interactions.int.test.js');
