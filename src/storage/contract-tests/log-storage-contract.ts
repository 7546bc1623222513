import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { LogAppendBatch } from '../../log/log-storage.js';
import { hashChildren, hashLeaf } from '../../log/merkle-hash.js';
import { createSignerKey } from '../../log/signed-note.js';
import { TransparencyLog } from '../../log/transparency-log.js';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);

function batch(start: number, count: number): LogAppendBatch {
  const entries = Array.from({ length: count }, (_, i) => entry(start + i));
  return { startIndex: start, entries, leafHashes: entries.map(hashLeaf), nodeHashes: [] };
}

/** LogStorage: what every adapter must do the same way (src/log/log-storage.ts). */
export function describeLogStorageContract(adapter: StorageAdapter): void {
  describe(`LogStorage contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    beforeEach(async () => {
      under = await adapter.open();
    });
    afterEach(async () => {
      await under.close();
    });

    test('round-trips entries, leaf hashes, node hashes and the size', async () => {
      const storage = under.log();
      expect(await storage.size()).toBe(0);
      await storage.appendBatch(batch(0, 3));
      const node = { level: 8, index: 0, hash: hashChildren(hashLeaf(entry(0)), hashLeaf(entry(1))) };
      await storage.appendBatch({ ...batch(3, 253), nodeHashes: [node] });
      expect(await storage.size()).toBe(256);
      expect(await storage.readEntries(1, 3)).toEqual([entry(1), entry(2)]);
      expect(await storage.readLeafHashes(255, 256)).toEqual([hashLeaf(entry(255))]);
      expect(await storage.readNodeHashes(8, 0, 1)).toEqual([node.hash]);
      await expect(storage.readEntries(250, 257)).rejects.toMatchObject({ code: 'ERR_STORAGE' });
      await expect(storage.readNodeHashes(8, 1, 2)).rejects.toMatchObject({ code: 'ERR_STORAGE' });
      await expect(storage.readEntries(3, 1)).rejects.toMatchObject({ details: { reason: 'range' } });
    });

    test('a refused batch writes nothing', async () => {
      const storage = under.log();
      await storage.appendBatch(batch(0, 2));
      await expect(storage.appendBatch(batch(5, 2))).rejects.toMatchObject({
        code: 'ERR_STORAGE',
        details: { reason: 'size-mismatch' },
      });
      const bad = { level: 8, index: 0, hash: new Uint8Array(32) };
      await expect(storage.appendBatch({ ...batch(2, 2), nodeHashes: [bad] })).rejects.toMatchObject({
        details: { reason: 'node-beyond-tree' },
      });
      expect(await storage.size()).toBe(2);
    });

    test('commit writes are applied in the append transaction, in order; a failing one rolls all back', async () => {
      const storage = under.log({ failOnKind: 'poison' });
      const groups = [
        { firstIndex: 0, writes: [{ kind: 'a' }] },
        { firstIndex: 1, writes: [{ kind: 'b' }, { kind: 'c' }] },
      ];
      await storage.appendBatch({ ...batch(0, 2), withinCommit: groups });
      expect(under.applied).toEqual(groups);
      await expect(
        storage.appendBatch({
          ...batch(2, 2),
          withinCommit: [{ firstIndex: 2, writes: [{ kind: 'poison' }] }],
        }),
      ).rejects.toMatchObject({ code: 'ERR_STORAGE' });
      expect(await storage.size()).toBe(2);
      await expect(storage.readEntries(2, 3)).rejects.toMatchObject({ code: 'ERR_STORAGE' });
    });

    test('checkpoints: latest, cosigned, newest-first listing, one per size', async () => {
      const storage = under.log();
      const root = (b: number) => new Uint8Array(32).fill(b);
      await storage.saveCheckpoint({ size: 1, rootHash: root(1), note: 'n1', time: 10 });
      await storage.saveCheckpoint({ size: 5, rootHash: root(5), note: 'n5', time: 20 });
      await expect(
        storage.saveCheckpoint({ size: 5, rootHash: root(6), note: 'x', time: 30 }),
      ).rejects.toMatchObject({
        code: 'ERR_STORAGE',
      });
      await storage.saveCosignedCheckpoint(1, 'n1+c');
      await expect(storage.saveCosignedCheckpoint(9, 'nope')).rejects.toMatchObject({
        details: { reason: 'missing' },
      });
      expect(await storage.latestCheckpoint()).toEqual({ size: 5, rootHash: root(5), note: 'n5', time: 20 });
      expect(await storage.latestCosignedCheckpoint()).toEqual({
        size: 1,
        rootHash: root(1),
        note: 'n1',
        cosignedNote: 'n1+c',
        time: 10,
      });
      expect((await storage.listCheckpoints()).map((c) => c.size)).toEqual([5, 1]);
      expect((await storage.listCheckpoints({ limit: 1 })).map((c) => c.size)).toEqual([5]);
    });

    test('witness state is compare-and-set per origin', async () => {
      const storage = under.log();
      const state = (size: number) => ({
        origin: 'o',
        size,
        rootHash: new Uint8Array(32).fill(size),
        checkpoint: `c${size}`,
        time: size,
      });
      expect(await storage.saveWitnessState(state(3), 0)).toBe(true);
      expect(await storage.saveWitnessState(state(4), 0)).toBe(false);
      expect(await storage.saveWitnessState(state(4), 2)).toBe(false);
      expect(await storage.saveWitnessState(state(4), 3)).toBe(true);
      expect(await storage.loadWitnessState('o')).toEqual(state(4));
      expect(await storage.loadWitnessState('other')).toBeUndefined();
      expect(await storage.listWitnessStates()).toEqual([state(4)]);
    });

    test('a TransparencyLog over the adapter signs and reopens at the same root', async () => {
      const keys = createSignerKey('careledger.example/contract/log');
      const log = await TransparencyLog.open({
        storage: under.log(),
        signerKey: keys.signerKey,
        origin: 'careledger.example/contract/log',
      });
      // Concurrent appends: group commit makes few batches of many entries.
      await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(entry(i))));
      const signed = await log.checkpoint();
      await log.stop();
      const reopened = await TransparencyLog.open({
        storage: under.log(),
        signerKey: keys.signerKey,
        origin: 'careledger.example/contract/log',
      });
      expect(reopened.size).toBe(300);
      expect(await reopened.rootAt(300)).toEqual(signed.rootHash);
      await reopened.stop();
    });
  });
}
