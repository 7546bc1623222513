/** The vault_records row shape and its mappers, shared by the SQLite and the PostgreSQL record storage. */
import type { StoredVersion } from '../vault/record-storage.js';

export interface RecordRow {
  resource_type: string;
  id: string;
  version_id: number;
  patient_id: string;
  last_updated: string;
  /** SQLite stores 0/1, PostgreSQL a boolean. */
  deleted: boolean | number;
  format: number | null;
  key_version: number | null;
  nonce: Buffer | null;
  ciphertext: Buffer | null;
  version_hash: string;
  log_index: number;
  commitment_salt: Buffer | null;
}

/**
 * The columns a StoredVersion is read from, in the order of RawRecordRow: every column but
 * `is_current`, which no reader needs (`SELECT *` carried it into every row).
 */
export const RECORD_COLUMNS =
  'resource_type, id, version_id, patient_id, last_updated, deleted, format, key_version, nonce, ciphertext, version_hash, log_index, commitment_salt';

/** RECORD_COLUMNS of the table aliased `alias` (`r.resource_type, r.id, ...`). */
export function recordColumnsOf(alias: string): string {
  return RECORD_COLUMNS.split(', ')
    .map((column) => `${alias}.${column}`)
    .join(', ');
}

/** A row of RECORD_COLUMNS as an array (better-sqlite3's `.raw()` rows). */
export type RawRecordRow = readonly [
  resourceType: string,
  id: string,
  versionId: number,
  patientId: string,
  lastUpdated: string,
  deleted: boolean | number,
  format: number | null,
  keyVersion: number | null,
  nonce: Buffer | null,
  ciphertext: Buffer | null,
  versionHash: string,
  logIndex: number,
  commitmentSalt: Buffer | null,
];

export function toStoredVersion(row: RecordRow): StoredVersion {
  return {
    resourceType: row.resource_type,
    id: row.id,
    versionId: row.version_id,
    patientId: row.patient_id,
    lastUpdated: row.last_updated,
    deleted: row.deleted === true || row.deleted === 1,
    sealed:
      row.ciphertext === null || row.nonce === null
        ? null
        : {
            format: 1,
            keyVersion: row.key_version ?? 0,
            nonce: new Uint8Array(row.nonce),
            ciphertext: new Uint8Array(row.ciphertext),
          },
    versionHash: row.version_hash,
    logIndex: row.log_index,
    commitmentSalt: row.commitment_salt === null ? null : new Uint8Array(row.commitment_salt),
  };
}

/**
 * The same version from a raw row (SQLite, issue 16: a candidate row as an array costs about a
 * quarter less than as an object of named columns). The driver gives each blob a Buffer of its own,
 * so the bytes are viewed as plain Uint8Arrays rather than copied again.
 */
export function rawToStoredVersion(row: RawRecordRow): StoredVersion {
  const deleted = row[5];
  const nonce = row[8];
  const ciphertext = row[9];
  const commitmentSalt = row[12];
  return {
    resourceType: row[0],
    id: row[1],
    versionId: row[2],
    patientId: row[3],
    lastUpdated: row[4],
    deleted: deleted === true || deleted === 1,
    sealed:
      ciphertext === null || nonce === null
        ? null
        : { format: 1, keyVersion: row[7] ?? 0, nonce: viewOf(nonce), ciphertext: viewOf(ciphertext) },
    versionHash: row[10],
    logIndex: row[11],
    commitmentSalt: commitmentSalt === null ? null : viewOf(commitmentSalt),
  };
}

function viewOf(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
