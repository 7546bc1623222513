import { CareLedgerError } from '../../errors/index.js';
import type { CommitGroup } from '../../log/log-storage.js';
import { type VaultCommitWrite, versionLogIndex } from '../../vault/commit-writes.js';
import {
  insertBreakGlassSessionPostgres,
  recordBreakGlassReviewPostgres,
} from './postgres-break-glass-store.js';
import type { PgQueryable } from './postgres-database.js';
import type { PgApplyCommitGroup } from './postgres-log-storage.js';
import {
  dropSearchIndexPostgres,
  insertVersionsPostgres,
  type VersionToInsert,
} from './postgres-record-storage.js';

/**
 * The vault's commit writes (src/vault/commit-writes.ts) applied on the log append's transaction
 * client (PostgresLogStorage `applyCommitGroup`), in order: a failure rolls back the entries too.
 */
export const applyVaultCommitGroupPostgres: PgApplyCommitGroup = async (
  tx: PgQueryable,
  group: CommitGroup,
) => {
  // Consecutive versions of distinct resources go in one set of statements (insertVersionsPostgres);
  // a second version of a resource already in the run, or any other write, ends the run first.
  let run: VersionToInsert[] = [];
  const inRun = new Set<string>();
  const flush = async () => {
    await insertVersionsPostgres(tx, run);
    run = [];
    inRun.clear();
  };
  for (const write of group.writes as readonly VaultCommitWrite[]) {
    if (write.kind === 'version') {
      const key = `${write.version.resourceType}/${write.version.id}`;
      if (inRun.has(key)) await flush();
      run.push({
        version: { ...write.version, logIndex: versionLogIndex(group, write) },
        index: write.index,
      });
      inRun.add(key);
      continue;
    }
    await flush();
    switch (write.kind) {
      case 'drop-search-index':
        await dropSearchIndexPostgres(tx, write.patientId);
        break;
      case 'open-break-glass':
        await insertBreakGlassSessionPostgres(tx, write.session);
        break;
      case 'review-break-glass':
        await recordBreakGlassReviewPostgres(tx, write.sessionId, write.review);
        break;
      default:
        throw new CareLedgerError('ERR_STORAGE', 'unknown commit write', {
          details: { reason: 'commit-write', kind: (write as { kind: string }).kind },
        });
    }
  }
  await flush();
};
