import type { BreakGlassSession, BreakGlassStore } from '../access/index.js';
import { CareLedgerError } from '../errors/index.js';
import type { SearchIndexEntry } from '../fhir/search/index.js';
import type { CommitGroup, CommitWrite } from '../log/index.js';
import type { StoredVersion } from './record-storage.js';

/**
 * The vault's writes that commit with its log entries (TransparencyLog.appendAll `withinCommit`), as
 * plain data: a worker process can hand them to the one sequencer, and each storage adapter applies
 * them inside the transaction of the append (SQLite synchronously, PostgreSQL on its client).
 */
export type VaultCommitWrite =
  | VersionCommitWrite
  | DropSearchIndexWrite
  | OpenBreakGlassWrite
  | ReviewBreakGlassWrite;

/** A record version; its log index is the group's first index plus `entryOffset`. */
export interface VersionCommitWrite {
  readonly kind: 'version';
  readonly version: Omit<StoredVersion, 'logIndex'>;
  /** Blind-index rows; for a current, non-deleted version they replace the resource's rows. */
  readonly index: readonly SearchIndexEntry[];
  /** Position of the version's entry within its appendAll group. */
  readonly entryOffset: number;
}

/** Erasure: the blind-index rows of a patient's records (not of AuditEvents about them) go. */
export interface DropSearchIndexWrite {
  readonly kind: 'drop-search-index';
  readonly patientId: string;
}

export interface OpenBreakGlassWrite {
  readonly kind: 'open-break-glass';
  readonly session: BreakGlassSession;
}

export interface ReviewBreakGlassWrite {
  readonly kind: 'review-break-glass';
  readonly sessionId: string;
  readonly review: NonNullable<BreakGlassSession['review']>;
}

/** What a synchronous adapter (SQLite, the in-memory twins) applies vault commit writes to. */
export interface SyncCommitTarget {
  readonly records: {
    insertVersion(version: StoredVersion, index?: readonly SearchIndexEntry[]): void;
    dropSearchIndex(patientId: string): void;
  };
  readonly breakGlass?: Pick<BreakGlassStore, 'insert' | 'recordReview'>;
}

/** The log index a version write gets in its group. */
export function versionLogIndex(group: CommitGroup, write: VersionCommitWrite): number {
  return group.firstIndex + write.entryOffset;
}

function unknownWrite(kind: string): never {
  throw new CareLedgerError('ERR_STORAGE', 'unknown commit write', {
    details: { reason: 'commit-write', kind },
  });
}

/**
 * Applies one group's vault writes to a synchronous target, in order. Meant to run inside the storage
 * transaction of the append (SqliteLogStorage `applyCommitGroup`): a throw rolls the batch back.
 */
export function applyVaultCommitGroup(target: SyncCommitTarget, group: CommitGroup): void {
  for (const write of group.writes as readonly (VaultCommitWrite | CommitWrite)[]) {
    const w = write as VaultCommitWrite;
    switch (w.kind) {
      case 'version':
        target.records.insertVersion({ ...w.version, logIndex: versionLogIndex(group, w) }, w.index);
        break;
      case 'drop-search-index':
        target.records.dropSearchIndex(w.patientId);
        break;
      case 'open-break-glass':
        if (target.breakGlass === undefined) unknownWrite(w.kind);
        target.breakGlass.insert(w.session);
        break;
      case 'review-break-glass':
        if (target.breakGlass === undefined) unknownWrite(w.kind);
        target.breakGlass.recordReview(w.sessionId, w.review);
        break;
      default:
        unknownWrite(write.kind);
    }
  }
}
