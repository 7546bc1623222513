/**
 * Counts and times the node's durable writes while the FHIR load runs, by wrapping two storage methods
 * for the duration of the group (restored afterwards): `SqliteLogStorage.appendBatch`, the one SQLite
 * transaction in which the transparency log's entries and the record versions and AuditEvents they
 * describe commit together, and `SqliteRecordStorage.insertVersion`, the rows of one version (with its
 * blind-index rows) inside that transaction. better-sqlite3 runs a transaction synchronously, so the time
 * a call takes is the time the transaction held the node's thread, COMMIT and fsync included.
 */
import { performance } from 'node:perf_hooks';
import { SqliteLogStorage } from '../src/storage/sqlite/sqlite-log-storage.js';
import { SqliteRecordStorage } from '../src/storage/sqlite/sqlite-record-storage.js';

export interface LogCommitCounts {
  /** Log transactions (appendBatch calls). */
  readonly commits: number;
  /** Log entries they appended. */
  readonly entries: number;
  /** Time inside them, ms. */
  readonly commitMs: number;
  readonly versionRows: number;
  readonly indexRows: number;
  /** Time inside insertVersion (part of commitMs), ms. */
  readonly insertMs: number;
}

export interface LogCommitProbe {
  read(): LogCommitCounts;
  restore(): void;
}

export function startLogCommitProbe(): LogCommitProbe {
  const counts = { commits: 0, entries: 0, commitMs: 0, versionRows: 0, indexRows: 0, insertMs: 0 };
  const appendBatch = SqliteLogStorage.prototype.appendBatch;
  const insertVersion = SqliteRecordStorage.prototype.insertVersion;
  SqliteLogStorage.prototype.appendBatch = function (this: SqliteLogStorage, batch) {
    const t0 = performance.now();
    try {
      return appendBatch.call(this, batch);
    } finally {
      counts.commits += 1;
      counts.entries += batch.entries.length;
      counts.commitMs += performance.now() - t0;
    }
  };
  SqliteRecordStorage.prototype.insertVersion = function (this: SqliteRecordStorage, version, index = []) {
    const t0 = performance.now();
    try {
      insertVersion.call(this, version, index);
    } finally {
      counts.versionRows += 1;
      counts.indexRows += index.length;
      counts.insertMs += performance.now() - t0;
    }
  };
  return {
    read: () => ({ ...counts }),
    restore() {
      SqliteLogStorage.prototype.appendBatch = appendBatch;
      SqliteRecordStorage.prototype.insertVersion = insertVersion;
    },
  };
}
