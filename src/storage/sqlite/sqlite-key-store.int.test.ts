import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { WrappedKey } from '../../vault/key-provider.js';
import { openDatabase, type SqliteDatabase } from './open-database.js';
import { keyStoreMigrations, SqliteKeyStore, TOMBSTONE_HASH_CACHE_SIZE } from './sqlite-key-store.js';

// The store only keeps bytes; these stand in for real wrapped keys (VaultCrypto tests use real ones).
let counter = 0;
function fakeWrapped(kekId = 'kek-a'): WrappedKey {
  counter++;
  return {
    kekId,
    algorithm: 'A256GCMKW',
    nonce: new Uint8Array(12).fill(counter),
    ciphertext: new Uint8Array(48).fill(counter),
  };
}

let dir: string;
let db: SqliteDatabase;
let store: SqliteKeyStore;
let clock: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-keys-'));
  db = openDatabase(join(dir, 'vault.db'), keyStoreMigrations);
  clock = 1_000;
  store = new SqliteKeyStore(db, { tombstoneKey: new Uint8Array(32).fill(9), now: () => clock++ });
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteKeyStore', () => {
  test('turns secure_delete on for its connection', () => {
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
  });

  test('getOrCreate creates version 1 once, then returns it', async () => {
    const calls: number[] = [];
    const create = async (version: number) => {
      calls.push(version);
      return fakeWrapped();
    };
    const first = await store.getOrCreate('pat-1', create);
    expect(first.created).toBe(true);
    expect(first.key).toMatchObject({ patientId: 'pat-1', version: 1, createdAt: 1_000 });
    const again = await store.getOrCreate('pat-1', create);
    expect(again).toEqual({ key: first.key, created: false });
    expect(calls).toEqual([1]);
    expect(await store.get('pat-1')).toEqual(first.key);
    expect(await store.get('pat-1', 1)).toEqual(first.key);
    expect(await store.get('pat-1', 2)).toBeUndefined();
    expect(await store.get('pat-2')).toBeUndefined();
  });

  test('racing getOrCreate calls agree on one key', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => store.getOrCreate('pat-1', async () => fakeWrapped())),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const winner = results.find((r) => r.created)?.key;
    for (const r of results) expect(r.key).toEqual(winner);
  });

  test('addVersion adds the next version; get returns the latest', async () => {
    await store.getOrCreate('pat-1', async () => fakeWrapped());
    const v2 = await store.addVersion('pat-1', async (version) => {
      expect(version).toBe(2);
      return fakeWrapped();
    });
    expect(v2.version).toBe(2);
    expect((await store.get('pat-1'))?.version).toBe(2);
    expect((await store.get('pat-1', 1))?.version).toBe(1);
  });

  test('destroy deletes every version, keeps a hashed tombstone, and later reads say erased', async () => {
    await store.getOrCreate('pat-1', async () => fakeWrapped());
    await store.addVersion('pat-1', async () => fakeWrapped());
    await store.getOrCreate('pat-2', async () => fakeWrapped());

    const result = await store.destroy('pat-1');
    expect(result).toMatchObject({ deletedVersions: 2, checkpointed: true });
    expect(await store.erasedAt('pat-1')).toBe(result.destroyedAt);
    expect(await store.erasedAt('pat-2')).toBeUndefined();
    await expect(store.get('pat-1')).rejects.toMatchObject({
      code: 'ERR_GONE',
      details: { reason: 'erased' },
    });
    let created = false;
    await expect(
      store.getOrCreate('pat-1', async () => {
        created = true;
        return fakeWrapped();
      }),
    ).rejects.toMatchObject({ details: { reason: 'erased' } });
    expect(created).toBe(false);
    await expect(store.addVersion('pat-1', async () => fakeWrapped())).rejects.toMatchObject({
      details: { reason: 'erased' },
    });
    expect(await store.get('pat-2')).toBeDefined();

    const tombstones = db.prepare('SELECT * FROM vault_erased_patients').all() as {
      patient_hash: Buffer;
      destroyed_at: number;
    }[];
    expect(tombstones).toHaveLength(1);
    expect(tombstones[0]?.patient_hash).toHaveLength(32);
    expect(tombstones[0]?.patient_hash.includes(Buffer.from('pat-1'))).toBe(false);

    const again = await store.destroy('pat-1');
    expect(again).toMatchObject({ deletedVersions: 0, destroyedAt: result.destroyedAt });
  });

  test('a patient erased while its key was being created gets no key', async () => {
    await expect(
      store.getOrCreate('pat-1', async () => {
        await store.destroy('pat-1');
        return fakeWrapped();
      }),
    ).rejects.toMatchObject({ details: { reason: 'erased' } });
    expect(db.prepare('SELECT count(*) AS n FROM vault_data_keys').get()).toEqual({ n: 0 });
  });

  test('a new key commits without an fsync of its own (NORMAL in WAL), and the connection goes back to FULL', async () => {
    // The same connection, observed: the level in force while each write transaction runs.
    const levels: unknown[] = [];
    const transaction = db.transaction.bind(db);
    db.transaction = ((fn: (...args: unknown[]) => unknown) =>
      transaction((...args: unknown[]) => {
        levels.push(db.pragma('synchronous', { simple: true }));
        return fn(...args);
      })) as typeof db.transaction;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const store = new SqliteKeyStore(db, { tombstoneKey: new Uint8Array(32).fill(9) });
    const created = await store.getOrCreate('pat-1', async () => fakeWrapped());
    expect(created.created).toBe(true);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    // Erasure and rotation keep the connection's own level (FULL): they are durable on their own.
    await store.addVersion('pat-1', async () => fakeWrapped());
    await store.destroy('pat-1');
    await expect(store.getOrCreate('pat-1', async () => fakeWrapped())).rejects.toMatchObject({
      details: { reason: 'erased' },
    });
    await expect(
      store.getOrCreate('pat-2', async () => {
        await store.destroy('pat-2');
        return fakeWrapped();
      }),
    ).rejects.toMatchObject({ details: { reason: 'erased' } });
    expect(levels).toEqual([1, 2, 2, 2, 1]);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    // What was committed is there for every connection, as before.
    const kept = await store.getOrCreate('pat-3', async () => fakeWrapped());
    const other = openDatabase(join(dir, 'vault.db'), keyStoreMigrations);
    try {
      const seen = new SqliteKeyStore(other, { tombstoneKey: new Uint8Array(32).fill(9) });
      expect(await seen.get('pat-3')).toEqual(kept.key);
      expect(await seen.erasedAt('pat-1')).toBeTypeOf('number');
    } finally {
      other.close();
    }
  });

  test('the node-level key (patient "") cannot be destroyed as a patient', async () => {
    await store.getOrCreate('', async () => fakeWrapped());
    await expect(store.destroy('')).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect(await store.get('')).toBeDefined();
  });

  test('listNotWrappedBy and replaceWrapped (compare-and-set) support rewrapping', async () => {
    const a = (await store.getOrCreate('pat-a', async () => fakeWrapped('kek-old'))).key;
    await store.getOrCreate('pat-b', async () => fakeWrapped('kek-new'));
    expect((await store.listNotWrappedBy('kek-new', 10)).map((k) => k.patientId)).toEqual(['pat-a']);
    const replacement = fakeWrapped('kek-new');
    expect(await store.replaceWrapped('pat-a', 1, fakeWrapped('kek-old'), replacement)).toBe(false);
    expect(await store.replaceWrapped('pat-a', 1, a.wrapped, replacement)).toBe(true);
    expect((await store.get('pat-a'))?.wrapped).toEqual(replacement);
    expect(await store.replaceWrapped('pat-a', 1, a.wrapped, replacement)).toBe(false);
    expect(await store.listNotWrappedBy('kek-new', 10)).toEqual([]);
  });

  test('tombstone hashes depend on the tombstone key', async () => {
    await store.destroy('pat-1');
    const other = new SqliteKeyStore(db, { tombstoneKey: new Uint8Array(32).fill(1) });
    expect(await other.erasedAt('pat-1')).toBeUndefined();
    expect(() => new SqliteKeyStore(db, { tombstoneKey: new Uint8Array(16) })).toThrow();
  });

  test('an erasure is seen at once though the patient id hash was kept, by this store and another', async () => {
    const create = async () => fakeWrapped();
    await store.getOrCreate('pat-1', create);
    // Asked many times before the erasure (every read asks): the id's hash is kept meanwhile.
    for (let i = 0; i < 3; i++) expect(await store.erasedAt('pat-1')).toBeUndefined();
    const sameDatabase = new SqliteKeyStore(db, { tombstoneKey: new Uint8Array(32).fill(9) });
    expect(await sameDatabase.erasedAt('pat-1')).toBeUndefined();
    await sameDatabase.destroy('pat-1');
    expect(await store.erasedAt('pat-1')).toBeDefined();
    await expect(store.get('pat-1')).rejects.toMatchObject({ code: 'ERR_GONE' });
    // Past the bound the kept hashes are dropped; answers stay the same.
    for (let i = 0; i < TOMBSTONE_HASH_CACHE_SIZE; i++) await store.erasedAt(`other-${i}`);
    expect(await store.erasedAt('pat-1')).toBeDefined();
    expect(await store.erasedAt('pat-2')).toBeUndefined();
  });
});
