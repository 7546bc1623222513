import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Migration, SqliteDatabase } from '../storage/sqlite/open-database.js';
import { openDatabase } from '../storage/sqlite/open-database.js';
import {
  createSqliteKeyStore,
  keyStoreMigrations,
  type SqliteKeyStore,
} from '../storage/sqlite/sqlite-key-store.js';
import {
  createLocalKeystore,
  type LocalKeystoreKeyProvider,
  MIN_SCRYPT_COST,
  openLocalKeystore,
} from './local-keystore-key-provider.js';
import type { RecordRef, SealedRecord } from './record-cipher.js';
import { dekContext, VaultCrypto } from './vault-crypto.js';

const passphrase = 'vault test passphrase';
const text = (s: string) => new TextEncoder().encode(s);
const obs = (patientId: string, versionId = '1'): RecordRef => ({
  resourceType: 'Observation',
  id: `obs-${patientId}`,
  versionId,
  patientId,
});

// A stand-in for the FHIR record table (not part of this module): sealed versions by reference only.
const recordMigrations: Migration[] = [
  {
    id: 'test-records-001',
    sql: `CREATE TABLE test_records (
      ref TEXT PRIMARY KEY, key_version INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL
    )`,
  },
];

let dir: string;
let dbPath: string;
let keystorePath: string;
let db: SqliteDatabase;
let provider: LocalKeystoreKeyProvider;
let store: SqliteKeyStore;
let vault: VaultCrypto;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-vault-'));
  dbPath = join(dir, 'vault.db');
  keystorePath = join(dir, 'keystore.json');
  db = openDatabase(dbPath, [...keyStoreMigrations, ...recordMigrations]);
  provider = await createLocalKeystore(keystorePath, passphrase, { scryptCost: MIN_SCRYPT_COST });
  store = await createSqliteKeyStore(db, provider);
  vault = await VaultCrypto.create({ keyProvider: provider, dataKeys: store });
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A second VaultCrypto on the same keystore file and database, with a cold cache. */
async function reopenVault(): Promise<VaultCrypto> {
  const reopened = await openLocalKeystore(keystorePath, passphrase);
  return VaultCrypto.create({ keyProvider: reopened, dataKeys: await createSqliteKeyStore(db, reopened) });
}

function fileBytes(): { main: Buffer; wal: Buffer } {
  const read = (p: string) => {
    try {
      return readFileSync(p);
    } catch {
      return Buffer.alloc(0);
    }
  };
  return { main: read(dbPath), wal: read(`${dbPath}-wal`) };
}

function contains(files: { main: Buffer; wal: Buffer }, needle: Uint8Array | string): boolean {
  const bytes = typeof needle === 'string' ? Buffer.from(needle) : Buffer.from(needle);
  return files.main.includes(bytes) || files.wal.includes(bytes);
}

describe('VaultCrypto', () => {
  test('round trip: the first record creates the patient key, wrapped under the current KEK', async () => {
    const sealed = await vault.encrypt(obs('pat-1'), text('hello'));
    expect(sealed.keyVersion).toBe(1);
    expect(await vault.decrypt(obs('pat-1'), sealed)).toEqual(text('hello'));
    const stored = await store.get('pat-1');
    expect(stored?.wrapped.kekId).toBe(provider.keyId);
    expect(await (await reopenVault()).decrypt(obs('pat-1'), sealed)).toEqual(text('hello'));
  });

  test('concurrent first writes for one patient agree on one key', async () => {
    const sealed = await Promise.all(
      Array.from({ length: 8 }, (_, i) => vault.encrypt(obs('pat-1', `${i}`), text(`v${i}`))),
    );
    const cold = await reopenVault();
    for (const [i, s] of sealed.entries())
      expect(await cold.decrypt(obs('pat-1', `${i}`), s)).toEqual(text(`v${i}`));
  });

  test("a record presented as another patient's fails", async () => {
    await vault.encrypt(obs('pat-2'), text('other'));
    const sealed = await vault.encrypt(obs('pat-1'), text('mine'));
    await expect(vault.decrypt({ ...obs('pat-1'), patientId: 'pat-2' }, sealed)).rejects.toMatchObject({
      message: 'the record could not be decrypted',
      details: { reason: 'decrypt-failed' },
    });
  });

  test("a wrapped key moved to another patient's row fails to unwrap", async () => {
    await vault.encrypt(obs('pat-a'), text('a'));
    const sealedB = await vault.encrypt(obs('pat-b'), text('b'));
    db.prepare(
      `UPDATE vault_data_keys SET nonce = (SELECT nonce FROM vault_data_keys WHERE patient_id = 'pat-a'),
         wrapped = (SELECT wrapped FROM vault_data_keys WHERE patient_id = 'pat-a') WHERE patient_id = 'pat-b'`,
    ).run();
    const cold = await reopenVault();
    await expect(cold.decrypt(obs('pat-b'), sealedB)).rejects.toMatchObject({
      details: { reason: 'unwrap-failed' },
    });
  });

  test('records with no patient use the node key, which patient erasure cannot destroy', async () => {
    const org: RecordRef = { resourceType: 'Organization', id: 'org-1', versionId: '1', patientId: '' };
    const sealed = await vault.encrypt(org, text('{"name":"Clinic"}'));
    expect(await vault.decrypt(org, sealed)).toEqual(text('{"name":"Clinic"}'));
    await expect(vault.destroyPatientKeys('')).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(await vault.erasedAt('')).toBeUndefined();
  });

  test('destroy: reads answer erased (not not-found), the cache forgets the key, others are untouched', async () => {
    const sealed = await vault.encrypt(obs('pat-1'), text('gone soon'));
    const kept = await vault.encrypt(obs('pat-2'), text('stays'));
    expect(vault.cachedPatients).toBe(2);
    const result = await vault.destroyPatientKeys('pat-1');
    expect(result.deletedVersions).toBe(1);
    expect(vault.cachedPatients).toBe(1);
    expect(await vault.erasedAt('pat-1')).toBe(result.destroyedAt);
    for (const v of [vault, await reopenVault()]) {
      await expect(v.decrypt(obs('pat-1'), sealed)).rejects.toMatchObject({
        code: 'ERR_GONE',
        details: { reason: 'erased' },
      });
      await expect(v.encrypt(obs('pat-1', '2'), text('new'))).rejects.toMatchObject({
        details: { reason: 'erased' },
      });
      expect(await v.decrypt(obs('pat-2'), kept)).toEqual(text('stays'));
    }
  });

  test('an unknown key version is not found', async () => {
    const sealed = await vault.encrypt(obs('pat-1'), text('x'));
    await expect(vault.decrypt(obs('pat-1'), { ...sealed, keyVersion: 5 })).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      details: { reason: 'no-data-key', keyVersion: 5 },
    });
  });

  test('the unwrapped-key cache is bounded, least recently used first', async () => {
    const small = await VaultCrypto.create({ keyProvider: provider, dataKeys: store, cacheSize: 2 });
    const sealed: SealedRecord[] = [];
    for (const p of ['p1', 'p2', 'p3']) sealed.push(await small.encrypt(obs(p), text(p)));
    expect(small.cachedPatients).toBe(2);
    expect(await small.decrypt(obs('p1'), sealed[0] as SealedRecord)).toEqual(text('p1'));
    expect(small.cachedPatients).toBe(2);
    await expect(
      VaultCrypto.create({ keyProvider: provider, dataKeys: store, cacheSize: 0 }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });

  test('data-key rotation: new versions use the new key, old ones stay readable until erasure', async () => {
    const v1 = await vault.encrypt(obs('pat-1', '1'), text('one'));
    expect(await vault.rotateDataKey('pat-1')).toBe(2);
    const v2 = await vault.encrypt(obs('pat-1', '2'), text('two'));
    expect(v2.keyVersion).toBe(2);
    const cold = await reopenVault();
    expect(await cold.decrypt(obs('pat-1', '1'), v1)).toEqual(text('one'));
    expect(await cold.decrypt(obs('pat-1', '2'), v2)).toEqual(text('two'));
    expect((await cold.encrypt(obs('pat-1', '3'), text('three'))).keyVersion).toBe(2);
    expect((await vault.destroyPatientKeys('pat-1')).deletedVersions).toBe(2);
    await expect(cold.decrypt(obs('pat-1', '2'), v2)).rejects.toMatchObject({
      details: { reason: 'erased' },
    });
  });

  test('KEK rotation: rewrap moves every data key, then the old KEK can be retired', async () => {
    const sealed = new Map<string, SealedRecord>();
    for (const p of ['p1', 'p2', 'p3', '']) sealed.set(p, await vault.encrypt(obs(p), text(`record ${p}`)));
    await vault.rotateDataKey('p1');
    const oldKek = provider.keyId;
    const newKek = await provider.rotateKek();
    expect(await vault.rewrapDataKeys(2)).toBe(5);
    expect(await store.listNotWrappedBy(newKek, 10)).toEqual([]);
    expect(await vault.rewrapDataKeys()).toBe(0);
    await provider.retireKek(oldKek);
    const cold = await reopenVault();
    for (const [p, s] of sealed) expect(await cold.decrypt(obs(p), s)).toEqual(text(`record ${p}`));
  });

  test('keyedHash: HMAC-SHA-256 under a node secret, stable across KEK rotation, different per node', async () => {
    const h = vault.keyedHash('MRN-000123');
    expect(h).toHaveLength(32);
    expect(vault.keyedHash('MRN-000123')).toEqual(h);
    expect(vault.keyedHash(text('MRN-000123'))).toEqual(h);
    expect(vault.keyedHash('MRN-000124')).not.toEqual(h);
    await provider.rotateKek();
    expect((await reopenVault()).keyedHash('MRN-000123')).toEqual(h);
    const otherDir = mkdtempSync(join(tmpdir(), 'careledger-vault-other-'));
    try {
      const other = await createLocalKeystore(join(otherDir, 'k.json'), passphrase, {
        scryptCost: MIN_SCRYPT_COST,
      });
      const otherVault = await VaultCrypto.create({ keyProvider: other, dataKeys: store });
      expect(otherVault.keyedHash('MRN-000123')).not.toEqual(h);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
    expect(() => vault.keyedHash('\uD800')).toThrow(TypeError);
  });

  test('keyedHashHex: the same HMAC as keyedHash, as hex, for every UTF-8 length; lone surrogates refused', () => {
    for (const value of ['', 'MRN-000123', 'Zoë Ångström', '\u{1F600} smile', 'x'.repeat(200)])
      expect(vault.keyedHashHex(value)).toBe(Buffer.from(vault.keyedHash(value)).toString('hex'));
    expect(() => vault.keyedHashHex('a\uDC00')).toThrow(TypeError);
  });
});

describe('crypto-shredding on disk', () => {
  const patientId = 'pat-shred-7f3a9c';
  const marker = 'MARKER-4b1d-plaintext-diagnosis-code-E11.9';

  async function storeMarkerRecord(): Promise<{
    sealed: SealedRecord;
    dek: Uint8Array;
    wrapped: Uint8Array;
  }> {
    const ref = obs(patientId);
    const sealed = await vault.encrypt(
      ref,
      text(JSON.stringify({ resourceType: 'Observation', note: marker })),
    );
    db.prepare('INSERT INTO test_records (ref, key_version, nonce, ciphertext) VALUES (?, ?, ?, ?)').run(
      'Observation/obs-1/_history/1',
      sealed.keyVersion,
      Buffer.from(sealed.nonce),
      Buffer.from(sealed.ciphertext),
    );
    const stored = await store.get(patientId);
    if (stored === undefined) throw new Error('no stored key');
    const dek = await provider.unwrapKey(stored.wrapped, dekContext(patientId, 1));
    return { sealed, dek, wrapped: stored.wrapped.ciphertext };
  }

  test('neither the plaintext nor the data key ever reaches the database file or its WAL', async () => {
    const { sealed, dek, wrapped } = await storeMarkerRecord();
    const beforeCheckpoint = fileBytes();
    expect(beforeCheckpoint.wal.length).toBeGreaterThan(0);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const afterCheckpoint = fileBytes();
    for (const files of [beforeCheckpoint, afterCheckpoint]) {
      // The ciphertext and the wrapped key are found, so the search does see what was written.
      expect(contains(files, sealed.ciphertext)).toBe(true);
      expect(contains(files, wrapped)).toBe(true);
      expect(contains(files, marker)).toBe(false);
      expect(contains(files, dek)).toBe(false);
    }
  });

  test('after destroy and checkpoint the wrapped key and the patient id are gone from the files', async () => {
    const { sealed, wrapped } = await storeMarkerRecord();
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(fileBytes().main.includes(Buffer.from(wrapped))).toBe(true);
    expect(fileBytes().main.includes(Buffer.from(patientId))).toBe(true);

    const result = await vault.destroyPatientKeys(patientId);
    expect(result.checkpointed).toBe(true);
    const files = fileBytes();
    expect(files.wal.length).toBe(0);
    expect(contains(files, wrapped)).toBe(false);
    expect(contains(files, patientId)).toBe(false);
    expect(contains(files, sealed.ciphertext)).toBe(true);
    await expect(vault.decrypt(obs(patientId), sealed)).rejects.toMatchObject({
      details: { reason: 'erased' },
    });
  });

  test('control: without secure_delete the deleted wrapped key stays in the file', async () => {
    const { wrapped } = await storeMarkerRecord();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('secure_delete = OFF');
    await store.destroy(patientId);
    expect(contains(fileBytes(), wrapped)).toBe(true);
  });
});
