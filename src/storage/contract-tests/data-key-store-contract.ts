import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { DataKeyStore } from '../../vault/data-key-store.js';
import type { WrappedKey } from '../../vault/key-provider.js';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

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

/** DataKeyStore (src/vault/data-key-store.ts) on every adapter: versions, races, crypto-shredding. */
export function describeDataKeyStoreContract(adapter: StorageAdapter): void {
  describe(`DataKeyStore contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    let store: DataKeyStore;
    let clock: number;
    beforeEach(async () => {
      under = await adapter.open();
      clock = 1_000;
      store = under.dataKeys({ tombstoneKey: new Uint8Array(32).fill(9), now: () => clock++ });
    });
    afterEach(async () => {
      await under.close();
    });

    test('getOrCreate creates version 1 once; addVersion adds the next; get returns the latest', async () => {
      const first = await store.getOrCreate('pat-1', async () => fakeWrapped());
      expect(first).toMatchObject({
        created: true,
        key: { patientId: 'pat-1', version: 1, createdAt: 1_000 },
      });
      expect(await store.getOrCreate('pat-1', async () => fakeWrapped())).toEqual({
        key: first.key,
        created: false,
      });
      const v2 = await store.addVersion('pat-1', async (version) => {
        expect(version).toBe(2);
        return fakeWrapped();
      });
      expect(v2.version).toBe(2);
      expect((await store.get('pat-1'))?.version).toBe(2);
      expect(await store.get('pat-1', 1)).toEqual(first.key);
      expect(await store.get('pat-1', 3)).toBeUndefined();
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

    test('destroy deletes every version and leaves a tombstone; the erased patient gets no new key', async () => {
      await store.getOrCreate('pat-1', async () => fakeWrapped());
      await store.addVersion('pat-1', async () => fakeWrapped());
      await store.getOrCreate('pat-2', async () => fakeWrapped());
      const result = await store.destroy('pat-1');
      expect(result.deletedVersions).toBe(2);
      expect(await store.erasedAt('pat-1')).toBe(result.destroyedAt);
      expect(await store.erasedAt('pat-2')).toBeUndefined();
      await expect(store.get('pat-1')).rejects.toMatchObject({
        code: 'ERR_GONE',
        details: { reason: 'erased' },
      });
      await expect(store.getOrCreate('pat-1', async () => fakeWrapped())).rejects.toMatchObject({
        details: { reason: 'erased' },
      });
      await expect(store.addVersion('pat-1', async () => fakeWrapped())).rejects.toMatchObject({
        details: { reason: 'erased' },
      });
      expect(await store.get('pat-2')).toBeDefined();
      expect(await store.destroy('pat-1')).toMatchObject({
        deletedVersions: 0,
        destroyedAt: result.destroyedAt,
      });
      await expect(store.destroy('')).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    });

    test('a patient erased while its key was being created gets no key', async () => {
      await expect(
        store.getOrCreate('pat-1', async () => {
          await store.destroy('pat-1');
          return fakeWrapped();
        }),
      ).rejects.toMatchObject({ details: { reason: 'erased' } });
      expect(await store.listNotWrappedBy('none', 10)).toEqual([]);
    });

    test('listNotWrappedBy and replaceWrapped (compare-and-set) support rewrapping', async () => {
      const a = (await store.getOrCreate('pat-a', async () => fakeWrapped('kek-old'))).key;
      await store.getOrCreate('pat-b', async () => fakeWrapped('kek-new'));
      expect((await store.listNotWrappedBy('kek-new', 10)).map((k) => k.patientId)).toEqual(['pat-a']);
      const replacement = fakeWrapped('kek-new');
      expect(await store.replaceWrapped('pat-a', 1, fakeWrapped('kek-old'), replacement)).toBe(false);
      expect(await store.replaceWrapped('pat-a', 1, a.wrapped, replacement)).toBe(true);
      expect((await store.get('pat-a'))?.wrapped).toEqual(replacement);
      expect(await store.listNotWrappedBy('kek-new', 10)).toEqual([]);
    });

    test('tombstone hashes depend on the tombstone key', async () => {
      await store.destroy('pat-1');
      const other = under.dataKeys({ tombstoneKey: new Uint8Array(32).fill(1), now: () => 0 });
      expect(await other.erasedAt('pat-1')).toBeUndefined();
      expect(() => under.dataKeys({ tombstoneKey: new Uint8Array(16), now: () => 0 })).toThrow();
    });
  });
}
