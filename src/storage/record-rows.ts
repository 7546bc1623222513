/** The vault_records row shape and its mapper, shared by the SQLite and the PostgreSQL record storage. */
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
