/**
 * The export crash test (test/export/bulk-export-crash.int.test.ts: the node, as its own process, is
 * SIGKILLed right after accepting a job and runs it after a restart), with the node's stores on a
 * throw-away PostgreSQL.
 */
process.env.CARELEDGER_TEST_POSTGRES = '1';
await import('../export/bulk-export-crash.int.test.js');
