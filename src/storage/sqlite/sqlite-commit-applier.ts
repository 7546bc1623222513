import type { BreakGlassStore } from '../../access/index.js';
import type { ApplyCommitGroup } from '../../log/index.js';
import { applyVaultCommitGroup } from '../../vault/commit-writes.js';
import type { SqliteDatabase } from './open-database.js';
import { SqliteBreakGlassStore } from './sqlite-break-glass-store.js';
import { SqliteRecordStorage } from './sqlite-record-storage.js';

/**
 * The vault's commit writes applied on the log's own connection, so they share the append's
 * transaction (SqliteLogStorage `applyCommitGroup`). Break-glass sessions go to the SQLite table unless
 * another store is given (tests keep them in memory).
 */
export function createSqliteCommitApplier(
  db: SqliteDatabase,
  options: { breakGlass?: Pick<BreakGlassStore, 'insert' | 'recordReview'> } = {},
): ApplyCommitGroup {
  const records = new SqliteRecordStorage(db);
  let breakGlass = options.breakGlass;
  return (group) => {
    // Prepared on first use: databases without the break-glass table never need it.
    if (breakGlass === undefined && group.writes.some((w) => w.kind.endsWith('-break-glass')))
      breakGlass = new SqliteBreakGlassStore(db);
    applyVaultCommitGroup({ records, ...(breakGlass === undefined ? {} : { breakGlass }) }, group);
  };
}
