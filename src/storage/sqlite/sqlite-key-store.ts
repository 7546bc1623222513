import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { CareLedgerError } from '../../errors/index.js';
import type { DataKeyStore, DestroyedDataKeys, StoredDataKey } from '../../vault/data-key-store.js';
import { NODE_KEY_PATIENT_ID } from '../../vault/data-key-store.js';
import { encodeFields } from '../../vault/encode-fields.js';
import { KEY_WRAP_ALGORITHM, type KeyProvider, type WrappedKey } from '../../vault/key-provider.js';
import { createErasedError, VAULT_ERROR_REASONS } from '../../vault/vault-errors.js';
import type { Migration, SqliteDatabase } from './open-database.js';

export const keyStoreMigrations: Migration[] = [
  {
    id: 'vault-keys-001',
    sql: `
      CREATE TABLE vault_data_keys (
        patient_id TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        kek_id TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        nonce BLOB NOT NULL,
        wrapped BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (patient_id, version)
      );
      CREATE INDEX vault_data_keys_kek ON vault_data_keys (kek_id);
      -- Tombstones of crypto-shredded patients: a keyed hash of the id, never the id itself.
      CREATE TABLE vault_erased_patients (
        patient_hash BLOB PRIMARY KEY,
        destroyed_at INTEGER NOT NULL
      );
    `,
  },
];

/** The `KeyProvider.deriveSecret` purpose of the key that hashes patient ids into tombstones. */
export const TOMBSTONE_KEY_PURPOSE = 'careledger/vault/tombstone/v1';

export interface SqliteKeyStoreOptions {
  /** 32-byte HMAC key for tombstones; `createSqliteKeyStore` derives it from the key provider. */
  readonly tombstoneKey: Uint8Array;
  readonly now?: () => number;
}

export interface DataKeyRow {
  patient_id: string;
  version: number;
  kek_id: string;
  algorithm: string;
  nonce: Buffer;
  wrapped: Buffer;
  created_at: number;
}

const MAX_VERSION_ATTEMPTS = 3;

/** Patient-id hashes kept per store; the map is emptied when it reaches this size. */
export const TOMBSTONE_HASH_CACHE_SIZE = 10_000;

/** Opens the key store on a database migrated with `keyStoreMigrations`, deriving its tombstone key. */
export async function createSqliteKeyStore(
  db: SqliteDatabase,
  keyProvider: Pick<KeyProvider, 'deriveSecret'>,
  options: { now?: () => number } = {},
): Promise<SqliteKeyStore> {
  const tombstoneKey = await keyProvider.deriveSecret(TOMBSTONE_KEY_PURPOSE);
  return new SqliteKeyStore(db, { ...options, tombstoneKey });
}

export class SqliteKeyStore implements DataKeyStore {
  private readonly statements;
  /** Imported once: an HMAC from raw key bytes imports the key again each time. */
  private readonly tombstoneKey: KeyObject;
  /**
   * HMACs of patient ids under the fixed tombstone key: a pure function, so a kept value is never
   * stale. Every read asks whether its patient was erased (decision 0017), a search once per record
   * it opens, and the HMAC was the larger part of that question (issue 16).
   */
  private readonly patientIdHashes = new Map<string, Buffer>();
  private readonly now: () => number;
  private readonly walMode: boolean;

  constructor(
    private readonly db: SqliteDatabase,
    options: SqliteKeyStoreOptions,
  ) {
    if (options.tombstoneKey.length !== 32) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the tombstone key must be 32 bytes');
    }
    this.tombstoneKey = createSecretKey(options.tombstoneKey);
    this.now = options.now ?? Date.now;
    this.walMode = db.pragma('journal_mode', { simple: true }) === 'wal';
    // Without secure_delete, SQLite only marks a deleted row's space free: the wrapped key would stay
    // readable in the database file (and in WAL frames) until the page happens to be reused, so a
    // "destroyed" key could be carved out of the file or a copy of it. ON overwrites deleted content
    // with zeros (SQLite docs, "PRAGMA secure_delete"). It is per connection, so it also covers every
    // other table on this connection, which is what the vault wants for deleted records too.
    db.pragma('secure_delete = ON');
    if (db.pragma('secure_delete', { simple: true }) !== 1) {
      throw new CareLedgerError('ERR_STORAGE', 'this SQLite build cannot enable secure_delete');
    }
    this.statements = {
      latest: db.prepare<[string], DataKeyRow>(
        'SELECT * FROM vault_data_keys WHERE patient_id = ? ORDER BY version DESC LIMIT 1',
      ),
      version: db.prepare<[string, number], DataKeyRow>(
        'SELECT * FROM vault_data_keys WHERE patient_id = ? AND version = ?',
      ),
      insert: db.prepare(
        `INSERT OR IGNORE INTO vault_data_keys
           (patient_id, version, kek_id, algorithm, nonce, wrapped, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      deleteAll: db.prepare('DELETE FROM vault_data_keys WHERE patient_id = ?'),
      tombstone: db.prepare<[Buffer], { destroyed_at: number }>(
        'SELECT destroyed_at FROM vault_erased_patients WHERE patient_hash = ?',
      ),
      addTombstone: db.prepare(
        'INSERT OR IGNORE INTO vault_erased_patients (patient_hash, destroyed_at) VALUES (?, ?)',
      ),
      notWrappedBy: db.prepare<[string, number], DataKeyRow>(
        'SELECT * FROM vault_data_keys WHERE kek_id <> ? ORDER BY patient_id, version LIMIT ?',
      ),
      replace: db.prepare(
        `UPDATE vault_data_keys SET kek_id = ?, algorithm = ?, nonce = ?, wrapped = ?
         WHERE patient_id = ? AND version = ? AND kek_id = ? AND nonce = ?`,
      ),
    };
  }

  async get(patientId: string, version?: number): Promise<StoredDataKey | undefined> {
    this.checkNotErased(patientId);
    const row =
      version === undefined
        ? this.statements.latest.get(patientId)
        : this.statements.version.get(patientId, version);
    return row === undefined ? undefined : toStoredKey(row);
  }

  async getOrCreate(
    patientId: string,
    create: (version: number) => Promise<WrappedKey>,
  ): Promise<{ key: StoredDataKey; created: boolean }> {
    const existing = await this.get(patientId);
    if (existing !== undefined) return { key: existing, created: false };
    const wrapped = await create(1);
    return this.withoutSyncOfItsOwn(() =>
      this.db
        .transaction(() => {
          // Checked again inside the transaction: the patient may have been erased while `create` ran.
          this.checkNotErased(patientId);
          const createdAt = this.now();
          if (this.insert(patientId, 1, wrapped, createdAt)) {
            // The row just inserted is the latest: nothing else writes this patient's keys inside the
            // transaction, so it is not read back.
            return {
              key: { patientId, version: 1, wrapped: copyWrapped(wrapped), createdAt },
              created: true,
            };
          }
          const row = this.statements.latest.get(patientId);
          if (row === undefined)
            throw new CareLedgerError('ERR_STORAGE', 'the data key vanished after insert');
          return { key: toStoredKey(row), created: false };
        })
        .immediate(),
    );
  }

  /**
   * Commits a new patient's first key without an fsync of its own (decision 0034). In WAL mode a
   * commit at `synchronous = NORMAL` appends its frames to the -wal file and skips only the fsync; the
   * first record sealed under the key is committed later, at FULL, which fsyncs the same -wal file and
   * so every frame before its own (a checkpoint in between syncs the WAL first and the database after:
   * SQLite docs, "PRAGMA synchronous"). The key is therefore durable no later than the first
   * ciphertext that needs it, whichever process of the member commits that. Without WAL this ordering
   * argument does not hold, so the key commits at the connection's own setting.
   */
  private withoutSyncOfItsOwn<T>(commit: () => T): T {
    // SQLite refuses to change the level inside a transaction ("Safety level may not be changed").
    if (!this.walMode || this.db.inTransaction) return commit();
    // Not through statements prepared once: SQLite applies (and reads) this pragma when the statement
    // is prepared, not when it runs, so a kept statement would set or report a stale level.
    const previous = this.db.pragma('synchronous', { simple: true }) as number;
    this.db.pragma('synchronous = NORMAL');
    try {
      return commit();
    } finally {
      this.db.pragma(`synchronous = ${previous}`);
    }
  }

  async addVersion(
    patientId: string,
    create: (version: number) => Promise<WrappedKey>,
  ): Promise<StoredDataKey> {
    for (let attempt = 0; attempt < MAX_VERSION_ATTEMPTS; attempt++) {
      const latest = await this.get(patientId);
      const version = (latest?.version ?? 0) + 1;
      const wrapped = await create(version);
      const stored = this.db
        .transaction(() => {
          this.checkNotErased(patientId);
          return this.insert(patientId, version, wrapped);
        })
        .immediate();
      if (stored) {
        const row = this.statements.version.get(patientId, version);
        if (row !== undefined) return toStoredKey(row);
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
    const { deletedVersions, destroyedAt } = this.db
      .transaction(() => {
        const deleted = this.statements.deleteAll.run(patientId).changes;
        this.statements.addTombstone.run(hash, this.now());
        const tombstone = this.statements.tombstone.get(hash);
        return { deletedVersions: deleted, destroyedAt: tombstone?.destroyed_at ?? this.now() };
      })
      .immediate();
    // secure_delete zeroes the freed space, but in WAL mode that zeroed page is only appended to the
    // -wal file: the main file keeps the old page (with the wrapped key) and earlier WAL frames keep
    // their copies until a checkpoint. TRUNCATE copies the zeroed page over the old one and empties the
    // WAL (SQLite docs, "PRAGMA wal_checkpoint"). A reader holding an old snapshot blocks it (busy=1);
    // the next checkpoint then finishes the job, which `checkpointed: false` tells the caller.
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return { deletedVersions, destroyedAt, checkpointed: result?.busy === 0 };
  }

  async erasedAt(patientId: string): Promise<number | undefined> {
    return this.statements.tombstone.get(this.hashPatientId(patientId))?.destroyed_at;
  }

  async listNotWrappedBy(kekId: string, limit: number): Promise<StoredDataKey[]> {
    return this.statements.notWrappedBy.all(kekId, limit).map(toStoredKey);
  }

  async replaceWrapped(
    patientId: string,
    version: number,
    expected: WrappedKey,
    replacement: WrappedKey,
  ): Promise<boolean> {
    const result = this.statements.replace.run(
      replacement.kekId,
      replacement.algorithm,
      Buffer.from(replacement.nonce),
      Buffer.from(replacement.ciphertext),
      patientId,
      version,
      expected.kekId,
      Buffer.from(expected.nonce),
    );
    return result.changes === 1;
  }

  private insert(patientId: string, version: number, wrapped: WrappedKey, createdAt = this.now()): boolean {
    const result = this.statements.insert.run(
      patientId,
      version,
      wrapped.kekId,
      wrapped.algorithm,
      Buffer.from(wrapped.nonce),
      Buffer.from(wrapped.ciphertext),
      createdAt,
    );
    return result.changes === 1;
  }

  private checkNotErased(patientId: string): void {
    if (patientId === NODE_KEY_PATIENT_ID) return;
    if (this.statements.tombstone.get(this.hashPatientId(patientId)) !== undefined) throw createErasedError();
  }

  private hashPatientId(patientId: string): Buffer {
    const known = this.patientIdHashes.get(patientId);
    if (known !== undefined) return known;
    const hash = createHmac('sha256', this.tombstoneKey)
      .update(encodeFields([patientId]))
      .digest();
    if (this.patientIdHashes.size >= TOMBSTONE_HASH_CACHE_SIZE) this.patientIdHashes.clear();
    this.patientIdHashes.set(patientId, hash);
    return hash;
  }
}

/** What `toStoredKey` would read back: the bytes copied, so the caller's arrays are not shared. */
function copyWrapped(wrapped: WrappedKey): WrappedKey {
  if (wrapped.algorithm !== KEY_WRAP_ALGORITHM) {
    throw new CareLedgerError('ERR_STORAGE', 'a stored data key uses an unknown wrapping algorithm', {
      details: { algorithm: wrapped.algorithm },
    });
  }
  return {
    kekId: wrapped.kekId,
    algorithm: KEY_WRAP_ALGORITHM,
    nonce: new Uint8Array(wrapped.nonce),
    ciphertext: new Uint8Array(wrapped.ciphertext),
  };
}

export function toStoredKey(row: DataKeyRow): StoredDataKey {
  if (row.algorithm !== KEY_WRAP_ALGORITHM) {
    throw new CareLedgerError('ERR_STORAGE', 'a stored data key uses an unknown wrapping algorithm', {
      details: { algorithm: row.algorithm },
    });
  }
  return {
    patientId: row.patient_id,
    version: row.version,
    wrapped: {
      kekId: row.kek_id,
      algorithm: KEY_WRAP_ALGORITHM,
      nonce: new Uint8Array(row.nonce),
      ciphertext: new Uint8Array(row.wrapped),
    },
    createdAt: row.created_at,
  };
}
