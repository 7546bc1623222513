/**
 * The AuditEvent index on SQLite, written in batches (decision 0039, issue 16 item 2). A read's
 * commit appends one row to `vault_audit_pending` (its log index, which only grows, and its keys
 * concatenated): a page at the table's right edge, shared by every AuditEvent of the group commit,
 * instead of a key into a random page of the index per value. Every AUDIT_INDEX_BATCH AuditEvents
 * the writer moves the pending rows into `vault_audit_index` in one transaction of its own, after the
 * commit that reached the batch, keys in sorted order, so values repeated in the batch (the same
 * patient, user or interaction) share their pages. A search reads both tables, so an AuditEvent is
 * found from the moment its commit is durable, moved or not; a crash leaves the pending rows, which
 * are durable with their commit and moved by the next batch.
 */
import type { SearchIndexEntry } from '../../fhir/search/index.js';
import { AUDIT_INDEX_KEY_BYTES, auditIndexKey, auditIndexKeyBytes } from '../audit-index-rows.js';
import type { SqliteDatabase } from './open-database.js';

/** AuditEvents pending before the writer moves them into the index. */
export const AUDIT_INDEX_BATCH = 256;

export class SqliteAuditIndex {
  private readonly sql;
  private pendingSinceMove = 0;
  private moveScheduled = false;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = {
      pend: db.prepare('INSERT OR REPLACE INTO vault_audit_pending (log_index, hashes) VALUES (?, ?)'),
      pending: db.prepare('SELECT log_index, hashes FROM vault_audit_pending ORDER BY log_index LIMIT ?'),
      add: db.prepare('INSERT OR IGNORE INTO vault_audit_index (hash, log_index) VALUES (?, ?)'),
      done: db.prepare('DELETE FROM vault_audit_pending WHERE log_index <= ?'),
    };
  }

  /** Within the commit's transaction: the AuditEvent's keys, pending. */
  pend(logIndex: number, index: readonly SearchIndexEntry[]): void {
    this.sql.pend.run(logIndex, auditIndexKeyBytes(index));
    this.pendingSinceMove += 1;
    if (this.pendingSinceMove >= AUDIT_INDEX_BATCH && !this.moveScheduled) {
      this.moveScheduled = true;
      // After the commit that is running now: a transaction of better-sqlite3 never spans a tick.
      setImmediate(() => {
        this.moveScheduled = false;
        this.movePendingSafely();
      });
    }
  }

  /**
   * Moves up to `limit` pending AuditEvents (oldest first) into the index, in one transaction; returns
   * how many. Keys go in sorted order, so each index page is visited once per batch.
   */
  movePending(limit = 4 * AUDIT_INDEX_BATCH): number {
    return this.db
      .transaction(() => {
        const rows = this.sql.pending.all(limit) as { log_index: number; hashes: Buffer }[];
        const last = rows.at(-1);
        if (last === undefined) return 0;
        const pairs: [Buffer, number][] = [];
        for (const row of rows) {
          for (let at = 0; at + AUDIT_INDEX_KEY_BYTES <= row.hashes.length; at += AUDIT_INDEX_KEY_BYTES)
            pairs.push([row.hashes.subarray(at, at + AUDIT_INDEX_KEY_BYTES), row.log_index]);
        }
        pairs.sort((a, b) => Buffer.compare(a[0], b[0]) || a[1] - b[1]);
        for (const [key, logIndex] of pairs) this.sql.add.run(key, logIndex);
        this.sql.done.run(last.log_index);
        this.pendingSinceMove = Math.max(0, this.pendingSinceMove - rows.length);
        return rows.length;
      })
      .immediate();
  }

  private movePendingSafely(): void {
    // Not inside another caller's transaction, nor after close; a move that fails leaves the rows
    // pending, where searches still find them, for the next batch.
    if (!this.db.open || this.db.inTransaction) return;
    try {
      this.movePending();
    } catch {
      // Retried by the next batch (SQLITE_BUSY from another process's write, a full disk).
    }
  }
}

/**
 * The SQL condition of one AuditEvent filter and its parameters: the moved rows by key, and the
 * pending rows by a byte search of their keys (a match at an offset that is not a key's would be a
 * false candidate, dropped by the in-memory match like any other).
 */
export function auditIndexCondition(hashes: readonly string[]): { sql: string; params: Buffer[] } {
  const keys = hashes.map(auditIndexKey);
  const marks = keys.map(() => '?').join(', ');
  return {
    sql: `r.log_index IN (SELECT a.log_index FROM vault_audit_index a WHERE a.hash IN (${marks})
      UNION ALL SELECT p.log_index FROM vault_audit_pending p WHERE ${keys.map(() => 'instr(p.hashes, ?) > 0').join(' OR ')})`,
    params: [...keys, ...keys],
  };
}
