/**
 * The bulk export suite over a real node (test/export/bulk-export-node.int.test.ts), run again with
 * the node's stores on a throw-away PostgreSQL: export jobs and keyset pages of current records.
 */
process.env.CARELEDGER_TEST_POSTGRES = '1';
await import('../export/bulk-export-node.int.test.js');
