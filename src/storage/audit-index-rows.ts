/**
 * The AuditEvent index (decision 0039, issue 16), shared by the SQLite and the PostgreSQL record
 * storage. Every read writes one AuditEvent, and its blind-index rows in the general table
 * (`vault_search_index`: type, id, parameter and a 64-character hex hash, in a table and two
 * indexes) took 3.3 KB of the 5.8 KB a read left in the database. AuditEvents get a table of their
 * own instead: one row per index value, `(key, log_index)`, in one B-tree (WITHOUT ROWID on SQLite),
 * about 30 bytes a row.
 *
 * - `key` is the first 16 bytes of the row's keyed hash. The parameter is bound into the hashed
 *   message (hashIndexValue), so no parameter column is needed; 128 bits make an accidental match
 *   between two values negligible (about 2^-64 for 10^9 rows), and a false candidate would still be
 *   dropped by the in-memory match every candidate goes through (planSearch's residual).
 * - `log_index` is the AuditEvent's own log index (one log entry per AuditEvent, so unique): 8 bytes
 *   at most instead of a 36-character id, found through `vault_records_type_log`.
 */
import type { SearchIndexEntry } from '../fhir/search/index.js';

export const AUDIT_EVENT = 'AuditEvent';

/** Bytes of the keyed hash kept in a row. */
export const AUDIT_INDEX_KEY_BYTES = 16;

/** The row key of a hex keyed hash (the vault's hashes are lowercase hex of 32 bytes). */
export function auditIndexKey(hash: string): Buffer {
  return Buffer.from(hash.slice(0, AUDIT_INDEX_KEY_BYTES * 2), 'hex');
}

/** The distinct row keys of an AuditEvent's index entries (the same value twice is one row). */
export function auditIndexKeys(index: readonly SearchIndexEntry[]): Buffer[] {
  const seen = new Map<string, Buffer>();
  for (const entry of index) {
    const key = auditIndexKey(entry.hash);
    seen.set(key.toString('hex'), key);
  }
  return [...seen.values()];
}

const HEX_HASH_HEAD = new RegExp(`^[0-9a-f]{${AUDIT_INDEX_KEY_BYTES * 2}}`);

/**
 * `Buffer.concat(auditIndexKeys(index))`, the pending row's keys, written into one buffer: every read
 * pends one (issue 16). The same bytes in the same order (first occurrence of each key); a hash that
 * is not lowercase hex takes the general path.
 */
export function auditIndexKeyBytes(index: readonly SearchIndexEntry[]): Buffer {
  const heads: string[] = [];
  for (const entry of index) {
    if (!HEX_HASH_HEAD.test(entry.hash)) return Buffer.concat(auditIndexKeys(index));
    const head = entry.hash.slice(0, AUDIT_INDEX_KEY_BYTES * 2);
    if (!heads.includes(head)) heads.push(head);
  }
  const out = Buffer.allocUnsafe(heads.length * AUDIT_INDEX_KEY_BYTES);
  for (let i = 0; i < heads.length; i++) out.write(heads[i] as string, i * AUDIT_INDEX_KEY_BYTES, 'hex');
  return out;
}
