import { createHmac } from 'node:crypto';
import { CareLedgerError } from '../../errors/index.js';
import type { DataKeyStore, DestroyedDataKeys, StoredDataKey } from '../../vault/data-key-store.js';
import { NODE_KEY_PATIENT_ID } from '../../vault/data-key-store.js';
import { encodeFields } from '../../vault/encode-fields.js';
import type { KeyProvider, WrappedKey } from '../../vault/key-provider.js';
import { createErasedError, VAULT_ERROR_REASONS } from '../../vault/vault-errors.js';
import { type DataKeyRow, TOMBSTONE_KEY_PURPOSE, toStoredKey } from '../sqlite/sqlite-key-store.js';
import type { PgQueryable, PostgresDatabase } from './postgres-database.js';

const MAX_VERSION_ATTEMPTS = 3;

/** Opens the key store, deriving its tombstone key as the SQLite store does. */
export async function createPostgresKeyStore(
  db: PostgresDatabase,
  keyProvider: Pick<KeyProvider, 'deriveSecret'>,
  options: { now?: () => number } = {},
): Promise<PostgresKeyStore> {
  const tombstoneKey = await keyProvider.deriveSecret(TOMBSTONE_KEY_PURPOSE);
  return new PostgresKeyStore(db, { ...options, tombstoneKey });
}

/**
 * DataKeyStore on PostgreSQL. Unlike SQLite, several processes write at once, so each write that
 * depends on "not erased" takes a per-patient transaction lock that erasure takes too: a key created
 * while the patient is being erased either commits before the erasure (and is deleted by it) or sees
 * the tombstone.
 *
 * PostgreSQL has no secure_delete: a destroyed row stays in the table's free space until VACUUM
 * reuses it and in the WAL until the segment is recycled. `destroy` runs VACUUM on the table and
 * reports `checkpointed: false`; decision 0015 states the limit.
 */
export class PostgresKeyStore implements DataKeyStore {
  private readonly tombstoneKey: Uint8Array;
  private readonly now: () => number;

  constructor(
    private readonly db: PostgresDatabase,
    options: { tombstoneKey: Uint8Array; now?: () => number },
  ) {
    if (options.tombstoneKey.length !== 32) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the tombstone key must be 32 bytes');
    }
    this.tombstoneKey = options.tombstoneKey;
    this.now = options.now ?? Date.now;
  }

  async get(patientId: string, version?: number): Promise<StoredDataKey | undefined> {
    await this.checkNotErased(this.db, patientId);
    const [row] =
      version === undefined
        ? await this.db.query<DataKeyRow>(
            'SELECT * FROM vault_data_keys WHERE patient_id = $1 ORDER BY version DESC LIMIT 1',
            [patientId],
          )
        : await this.db.query<DataKeyRow>(
            'SELECT * FROM vault_data_keys WHERE patient_id = $1 AND version = $2',
            [patientId, version],
          );
    return row === undefined ? undefined : toStoredKey(row);
  }

  async getOrCreate(
    patientId: string,
    create: (version: number) => Promise<WrappedKey>,
  ): Promise<{ key: StoredDataKey; created: boolean }> {
    const existing = await this.get(patientId);
    if (existing !== undefined) return { key: existing, created: false };
    const wrapped = await create(1);
    return this.db.transaction(async (tx) => {
      await this.lockPatient(tx, patientId);
      // Checked again under the lock: the patient may have been erased while `create` ran.
      await this.checkNotErased(tx, patientId);
      const inserted = await this.insert(tx, patientId, 1, wrapped);
      const [row] = await tx.query<DataKeyRow>(
        'SELECT * FROM vault_data_keys WHERE patient_id = $1 ORDER BY version DESC LIMIT 1',
        [patientId],
      );
      if (row === undefined) throw new CareLedgerError('ERR_STORAGE', 'the data key vanished after insert');
      return { key: toStoredKey(row), created: inserted && row.version === 1 };
    });
  }

  async addVersion(
    patientId: string,
    create: (version: number) => Promise<WrappedKey>,
  ): Promise<StoredDataKey> {
    for (let attempt = 0; attempt < MAX_VERSION_ATTEMPTS; attempt++) {
      const latest = await this.get(patientId);
      const version = (latest?.version ?? 0) + 1;
      const wrapped = await create(version);
      const stored = await this.db.transaction(async (tx) => {
        await this.lockPatient(tx, patientId);
        await this.checkNotErased(tx, patientId);
        return this.insert(tx, patientId, version, wrapped);
      });
      if (stored) {
        const key = await this.get(patientId, version);
        if (key !== undefined) return key;
      }
    }
    throw new CareLedgerError('ERR_STORAGE', 'concurrent data-key rotations kept colliding', {
      details: { reason: VAULT_ERROR_REASONS.versionConflict },
    });
  }

  async destroy(patientId: string): Promise<DestroyedDataKeys> {
    if (patientId === NODE_KEY_PATIENT_ID) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'the node-level data key cannot be destroyed as a patient',
      );
    }
    const hash = this.hashPatientId(patientId);
    const result = await this.db.transaction(async (tx) => {
      await this.lockPatient(tx, patientId);
      const deletedVersions = await tx.execute('DELETE FROM vault_data_keys WHERE patient_id = $1', [
        patientId,
      ]);
      await tx.execute(
        'INSERT INTO vault_erased_patients (patient_hash, destroyed_at) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [hash, this.now()],
      );
      const [tombstone] = await tx.query<{ destroyed_at: number }>(
        'SELECT destroyed_at FROM vault_erased_patients WHERE patient_hash = $1',
        [hash],
      );
      return { deletedVersions, destroyedAt: tombstone?.destroyed_at ?? this.now() };
    });
    // Lets the freed space be reused (and so overwritten) soon; it does not scrub it.
    await this.db.execute('VACUUM vault_data_keys').catch(() => undefined);
    return { ...result, checkpointed: false };
  }

  async erasedAt(patientId: string): Promise<number | undefined> {
    const [row] = await this.db.query<{ destroyed_at: number }>(
      'SELECT destroyed_at FROM vault_erased_patients WHERE patient_hash = $1',
      [this.hashPatientId(patientId)],
    );
    return row?.destroyed_at;
  }

  async listNotWrappedBy(kekId: string, limit: number): Promise<StoredDataKey[]> {
    const rows = await this.db.query<DataKeyRow>(
      'SELECT * FROM vault_data_keys WHERE kek_id <> $1 ORDER BY patient_id, version LIMIT $2',
      [kekId, limit],
    );
    return rows.map(toStoredKey);
  }

  async replaceWrapped(
    patientId: string,
    version: number,
    expected: WrappedKey,
    replacement: WrappedKey,
  ): Promise<boolean> {
    const changed = await this.db.execute(
      `UPDATE vault_data_keys SET kek_id = $1, algorithm = $2, nonce = $3, wrapped = $4
       WHERE patient_id = $5 AND version = $6 AND kek_id = $7 AND nonce = $8`,
      [
        replacement.kekId,
        replacement.algorithm,
        Buffer.from(replacement.nonce),
        Buffer.from(replacement.ciphertext),
        patientId,
        version,
        expected.kekId,
        Buffer.from(expected.nonce),
      ],
    );
    return changed === 1;
  }

  private async insert(
    tx: PgQueryable,
    patientId: string,
    version: number,
    wrapped: WrappedKey,
  ): Promise<boolean> {
    const inserted = await tx.execute(
      `INSERT INTO vault_data_keys (patient_id, version, kek_id, algorithm, nonce, wrapped, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [
        patientId,
        version,
        wrapped.kekId,
        wrapped.algorithm,
        Buffer.from(wrapped.nonce),
        Buffer.from(wrapped.ciphertext),
        this.now(),
      ],
    );
    return inserted === 1;
  }

  /** A transaction lock keyed by the patient's tombstone hash (never the id itself). */
  private async lockPatient(tx: PgQueryable, patientId: string): Promise<void> {
    const key = this.hashPatientId(patientId).readBigInt64BE(0);
    await tx.execute('SELECT pg_advisory_xact_lock($1)', [key.toString()]);
  }

  private async checkNotErased(db: PgQueryable, patientId: string): Promise<void> {
    if (patientId === NODE_KEY_PATIENT_ID) return;
    const rows = await db.query('SELECT 1 FROM vault_erased_patients WHERE patient_hash = $1', [
      this.hashPatientId(patientId),
    ]);
    if (rows.length > 0) throw createErasedError();
  }

  private hashPatientId(patientId: string): Buffer {
    return createHmac('sha256', this.tombstoneKey)
      .update(encodeFields([patientId]))
      .digest();
  }
}
