/**
 * The FHIR REST interactions suite (test/node/fhir-interactions.int.test.ts), run again with the node's
 * stores on a throw-away PostgreSQL (startSoloNode starts one when CARELEDGER_TEST_POSTGRES is 1).
 * Each test file runs in its own worker, so the variable does not reach other files.
 */
process.env.CARELEDGER_TEST_POSTGRES = '1';
await import('../node/fhir-interactions.int.test.js');
