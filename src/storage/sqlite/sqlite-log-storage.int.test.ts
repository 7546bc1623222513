import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { LogAppendBatch, LogStorage } from '../../log/log-storage.js';
import { hashChildren, hashLeaf } from '../../log/merkle-hash.js';
import { createSignerKey } from '../../log/signed-note.js';
import { TransparencyLog } from '../../log/transparency-log.js';
import { openDatabase, type SqliteDatabase } from './open-database.js';
import { logMigrations, SqliteLogStorage } from './sqlite-log-storage.js';

const keys = createSignerKey('careledger.example/node-a/log');
const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);

let dir: string;
let path: string;
const open: SqliteDatabase[] = [];

function openStorage(): { db: SqliteDatabase; storage: SqliteLogStorage } {
  const db = openDatabase(path, logMigrations);
  open.push(db);
  return { db, storage: new SqliteLogStorage(db) };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-log-'));
  path = join(dir, 'node.db');
});

afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function batch(start: number, count: number): LogAppendBatch {
  const entries = Array.from({ length: count }, (_, i) => entry(start + i));
  return { startIndex: start, entries, leafHashes: entries.map(hashLeaf), nodeHashes: [] };
}

describe('SqliteLogStorage', () => {
  test('round-trips entries, leaf hashes, node hashes and the size', async () => {
    const { storage } = openStorage();
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
  });

  test('a refused batch writes nothing (one batch, one transaction)', async () => {
    const { storage } = openStorage();
    await storage.appendBatch(batch(0, 2));
    await expect(storage.appendBatch(batch(5, 2))).rejects.toMatchObject({
      code: 'ERR_STORAGE',
      details: { reason: 'size-mismatch' },
    });
    // Fails on the node row, after the leaf rows were inserted: the transaction rolls them back.
    const bad = { ...batch(2, 3), nodeHashes: [{ level: 8, index: 0, hash: new Uint8Array(31) }] };
    await expect(storage.appendBatch(bad)).rejects.toMatchObject({ code: 'ERR_STORAGE' });
    expect(await storage.size()).toBe(2);
  });

  test('leaves and node hashes are append-only', async () => {
    const { db, storage } = openStorage();
    await storage.appendBatch(batch(0, 2));
    expect(() => db.prepare('UPDATE log_leaves SET entry = ? WHERE idx = 0').run(Buffer.from('x'))).toThrow(
      /append-only/,
    );
    expect(() => db.prepare('DELETE FROM log_leaves').run()).toThrow(/append-only/);
  });

  test('checkpoints and cosigned checkpoints round-trip', async () => {
    const { storage } = openStorage();
    const rootHash = hashLeaf(entry(0));
    expect(await storage.latestCheckpoint()).toBeUndefined();
    await storage.saveCheckpoint({ size: 1, rootHash, note: 'n1', time: 10 });
    await storage.saveCheckpoint({ size: 2, rootHash, note: 'n2', time: 20 });
    await expect(storage.saveCheckpoint({ size: 2, rootHash, note: 'x', time: 30 })).rejects.toMatchObject({
      code: 'ERR_STORAGE',
    });
    await storage.saveCosignedCheckpoint(1, 'n1+cosigs');
    expect(await storage.latestCheckpoint()).toEqual({ size: 2, rootHash, note: 'n2', time: 20 });
    expect(await storage.latestCosignedCheckpoint()).toEqual({
      size: 1,
      rootHash,
      note: 'n1',
      cosignedNote: 'n1+cosigs',
      time: 10,
    });
    expect((await storage.listCheckpoints()).map((c) => c.size)).toEqual([2, 1]);
    expect((await storage.listCheckpoints({ limit: 1 })).map((c) => c.size)).toEqual([2]);
    await expect(storage.saveCosignedCheckpoint(9, 'x')).rejects.toMatchObject({ code: 'ERR_STORAGE' });
  });

  test('witness state is compare-and-set on the recorded size', async () => {
    const { storage } = openStorage();
    const state = { origin: 'o', size: 5, rootHash: hashLeaf(entry(5)), checkpoint: 'cp', time: 1 };
    expect(await storage.saveWitnessState(state, 3)).toBe(false);
    expect(await storage.saveWitnessState(state, 0)).toBe(true);
    expect(await storage.saveWitnessState({ ...state, size: 9 }, 0)).toBe(false);
    expect(await storage.saveWitnessState({ ...state, size: 9 }, 5)).toBe(true);
    expect(await storage.loadWitnessState('o')).toMatchObject({ size: 9, checkpoint: 'cp' });
    expect(await storage.loadWitnessState('other')).toBeUndefined();
    expect((await storage.listWitnessStates()).map((s) => s.origin)).toEqual(['o']);
  });
});

describe('TransparencyLog over SQLite', () => {
  async function fill(log: TransparencyLog, from: number, to: number): Promise<void> {
    await Promise.all(Array.from({ length: to - from }, (_, i) => log.append(entry(from + i))));
  }

  test('group commit batches into few transactions; reopening rebuilds the same root', async () => {
    const { storage } = openStorage();
    let transactions = 0;
    const counting: LogStorage = Object.assign(Object.create(null), {
      ...Object.fromEntries(
        (Object.getOwnPropertyNames(SqliteLogStorage.prototype) as (keyof SqliteLogStorage)[])
          .filter((n) => n !== ('constructor' as string))
          .map((n) => [n, (storage[n] as (...a: unknown[]) => unknown).bind(storage)]),
      ),
      appendBatch: (b: LogAppendBatch) => {
        transactions++;
        return storage.appendBatch(b);
      },
    });
    const log = await TransparencyLog.open({ storage: counting, signerKey: keys.signerKey });
    const results = await Promise.all(Array.from({ length: 256 }, (_, i) => log.append(entry(i))));
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(transactions).toBe(1);
    await fill(log, 256, 1000);
    const cp = await log.checkpoint();
    const root = log.root();
    await log.stop();
    open[0]?.close();

    const again = openStorage();
    const reopened = await TransparencyLog.open({ storage: again.storage, signerKey: keys.signerKey });
    expect(reopened.size).toBe(1000);
    expect(reopened.root()).toEqual(root);
    expect(reopened.latestCheckpoint()).toBe(cp.note);
  });

  test('a stored leaf row changed with SQL is caught when the log reopens', async () => {
    const first = openStorage();
    const log = await TransparencyLog.open({ storage: first.storage, signerKey: keys.signerKey });
    await fill(log, 0, 600);
    await log.checkpoint();
    await log.stop();
    first.db.close();

    // Someone with write access to the file bypasses the append-only triggers.
    const tamper = openStorage();
    tamper.db.exec('DROP TRIGGER log_leaves_no_update');
    tamper.db.prepare('UPDATE log_leaves SET entry = ? WHERE idx = 3').run(Buffer.from('forged'));
    await expect(
      TransparencyLog.open({ storage: tamper.storage, signerKey: keys.signerKey }),
    ).rejects.toMatchObject({
      code: 'ERR_STORAGE',
      details: { reason: 'leaf-hash-mismatch', index: 3 },
    });
    // Changing the leaf hash too makes the entries disagree with the signed checkpoint.
    tamper.db
      .prepare('UPDATE log_leaves SET leaf_hash = ? WHERE idx = 3')
      .run(hashLeaf(Buffer.from('forged')));
    await expect(
      TransparencyLog.open({ storage: tamper.storage, signerKey: keys.signerKey }),
    ).rejects.toMatchObject({
      code: 'ERR_LOG_EQUIVOCATION',
      details: { reason: 'checkpoint-root-mismatch' },
    });
    // In the partial tile, even the O(log n) fast check sees it.
    tamper.db.prepare('UPDATE log_leaves SET leaf_hash = ? WHERE idx = 599').run(hashLeaf(Buffer.from('x')));
    await expect(
      TransparencyLog.open({ storage: tamper.storage, signerKey: keys.signerKey, verify: 'fast' }),
    ).rejects.toMatchObject({ code: 'ERR_LOG_EQUIVOCATION' });
  });
});
