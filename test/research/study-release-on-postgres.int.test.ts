/**
 * The study release suite over a real node (study-release.int.test.ts), run again with the node's
 * stores on a throw-away PostgreSQL: release jobs in the export job table, pages of current records,
 * the patients' AuditEvents.
 */
process.env.CARELEDGER_TEST_POSTGRES = '1';
await import('./study-release.int.test.js');
