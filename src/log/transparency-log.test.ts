import { describe, expect, test } from 'vitest';
import { isCareLedgerError } from '../errors/index.js';
import { parseCheckpoint } from './checkpoint.js';
import { CompactRange } from './compact-range.js';
import type { LogAppendBatch, LogStorage } from './log-storage.js';
import { MemoryLogStorage } from './memory-log-storage.js';
import { hashLeaf } from './merkle-hash.js';
import { createSignerKey, parseSignedNote, parseVerifierKey, verifyNote } from './signed-note.js';
import { rootFromTiles, tilesForSize } from './tiles.js';
import { verifyTlogProof } from './tlog-proof.js';
import { type Scheduler, TransparencyLog } from './transparency-log.js';
import { verifyConsistencyProof, verifyInclusionProof } from './verify-proof.js';

const keys = createSignerKey('careledger.example/node-a/log');
const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);

const STORAGE_METHODS = [
  'size',
  'appendBatch',
  'readEntries',
  'readLeafHashes',
  'readNodeHashes',
  'saveCheckpoint',
  'saveCosignedCheckpoint',
  'latestCheckpoint',
  'latestCosignedCheckpoint',
  'listCheckpoints',
  'loadWitnessState',
  'saveWitnessState',
  'listWitnessStates',
  'close',
] as const;

/** A LogStorage forwarding to `storage`, with some methods replaced. */
function delegate(storage: LogStorage): LogStorage {
  const out: Record<string, unknown> = {};
  for (const name of STORAGE_METHODS)
    out[name] = (storage[name] as (...a: unknown[]) => unknown).bind(storage);
  return out as unknown as LogStorage;
}

/** Counts storage calls, and can be told to fail the next appendBatch. */
function instrument(storage: LogStorage) {
  const counts = { appendBatch: 0, reads: 0, batchSizes: [] as number[] };
  let failNext = false;
  const wrapped = delegate(storage);
  wrapped.appendBatch = async (batch: LogAppendBatch) => {
    counts.appendBatch++;
    counts.batchSizes.push(batch.entries.length);
    if (failNext) {
      failNext = false;
      throw new Error('disk full');
    }
    return storage.appendBatch(batch);
  };
  for (const name of ['readLeafHashes', 'readNodeHashes', 'readEntries'] as const) {
    const original = storage[name].bind(storage) as (...args: number[]) => Promise<Uint8Array[]>;
    (wrapped as unknown as Record<string, unknown>)[name] = (...args: number[]) => {
      counts.reads++;
      return original(...args);
    };
  }
  return { storage: wrapped, counts, failNextAppend: () => (failNext = true) };
}

function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function manualScheduler() {
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  const scheduler: Scheduler = {
    setTimeout: (fn, ms) => {
      timers.set(next, { fn, ms });
      return next++;
    },
    clearTimeout: (h) => timers.delete(h as number),
  };
  return {
    scheduler,
    timers,
    fire: () => {
      const all = [...timers.entries()];
      timers.clear();
      for (const [, t] of all) t.fn();
    },
  };
}

async function openLog(
  storage: LogStorage = new MemoryLogStorage(),
  extra: { verify?: 'full' | 'fast' } = {},
) {
  return TransparencyLog.open({ storage, signerKey: keys.signerKey, clock: manualClock(), ...extra });
}

async function appendMany(log: TransparencyLog, from: number, to: number): Promise<void> {
  await Promise.all(Array.from({ length: to - from }, (_, i) => log.append(entry(from + i))));
}

function expectCode(error: unknown, code: string, reason?: string): void {
  expect(isCareLedgerError(error)).toBe(true);
  if (!isCareLedgerError(error)) return;
  expect(error.code).toBe(code);
  if (reason !== undefined) expect(error.details.reason).toBe(reason);
}

describe('group commit', () => {
  test('256 concurrent appends get distinct, dense indices in one storage transaction', async () => {
    const { storage, counts } = instrument(new MemoryLogStorage());
    const log = await openLog(storage);
    const results = await Promise.all(Array.from({ length: 256 }, (_, i) => log.append(entry(i))));
    expect(results.map((r) => r.index)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(results.every((r, i) => Buffer.from(r.leafHash).equals(hashLeaf(entry(i))))).toBe(true);
    expect(counts.appendBatch).toBe(1);
    expect(log.size).toBe(256);
  });

  test('appends arriving during a flush are batched into the next one; batches are capped', async () => {
    const { storage, counts } = instrument(new MemoryLogStorage());
    const log = await TransparencyLog.open({ storage, signerKey: keys.signerKey, maxBatchSize: 100 });
    const first = log.append(entry(0));
    await new Promise((resolve) => setImmediate(resolve)); // the first flush has started
    const rest = Array.from({ length: 250 }, (_, i) => log.append(entry(i + 1)));
    const all = await Promise.all([first, ...rest]);
    expect(new Set(all.map((r) => r.index)).size).toBe(251);
    expect(counts.batchSizes).toEqual([1, 100, 100, 50]);
  });

  test('appends from one turn of the event loop share one commit', async () => {
    const { storage, counts } = instrument(new MemoryLogStorage());
    const log = await TransparencyLog.open({ storage, signerKey: keys.signerKey });
    // Two requests whose handlers reach the log after some awaits of their own, in the same I/O phase.
    const request = async (i: number) => {
      await Promise.resolve();
      await Promise.resolve();
      return log.append(entry(i));
    };
    await Promise.all([request(0), request(1), request(2)]);
    expect(counts.batchSizes).toEqual([3]);
  });

  test('a failed storage write rejects the whole batch with ERR_LOG_UNAVAILABLE and writes nothing', async () => {
    const { storage, failNextAppend } = instrument(new MemoryLogStorage());
    const log = await openLog(storage);
    await appendMany(log, 0, 10);
    const rootBefore = log.root();
    failNextAppend();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => log.append(entry(100 + i))),
    );
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    for (const o of outcomes) if (o.status === 'rejected') expectCode(o.reason, 'ERR_LOG_UNAVAILABLE');
    expect(log.size).toBe(10);
    expect(await storage.size()).toBe(10);
    expect(log.root()).toEqual(rootBefore);
    // The log carries on once storage works again.
    expect((await log.append(entry(10))).index).toBe(10);
  });

  test('refuses entries larger than a tile entry bundle can hold', async () => {
    const log = await openLog();
    await expect(log.append(new Uint8Array(65536))).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});

describe('tree, proofs and reopening', () => {
  test('root and proofs match the reference tree across tile boundaries; reopen rebuilds the same root', async () => {
    const storage = new MemoryLogStorage();
    const log = await openLog(storage);
    const reference = CompactRange.empty();
    const sizes = [1, 255, 256, 257, 511, 512, 513, 65535, 65536, 65537, 70000];
    let done = 0;
    const roots = new Map<number, Uint8Array>();
    for (const size of sizes) {
      await appendMany(log, done, size);
      for (let i = done; i < size; i++) reference.appendEntry(entry(i));
      done = size;
      expect(log.root()).toEqual(reference.root());
      expect(await log.rootAt(size)).toEqual(reference.root());
      roots.set(size, reference.root());
    }
    for (const index of [0, 1, 255, 256, 65535, 65536, 69999]) {
      const proof = await log.createInclusionProof(index);
      verifyInclusionProof(hashLeaf(entry(index)), index, 70000, proof, log.root());
    }
    for (const [oldSize, newSize] of [
      [1, 70000],
      [256, 65537],
      [511, 513],
      [65536, 70000],
    ] as const) {
      const proof = await log.createConsistencyProof(oldSize, newSize);
      verifyConsistencyProof(
        oldSize,
        newSize,
        proof,
        roots.get(oldSize) as Uint8Array,
        roots.get(newSize) as Uint8Array,
      );
    }
    const reopened = await openLog(storage);
    expect(reopened.size).toBe(70000);
    expect(reopened.root()).toEqual(log.root());
    // Appending after reopen continues the same tree, including the tile edge.
    await appendMany(reopened, 70000, 70300);
    for (let i = 70000; i < 70300; i++) reference.appendEntry(entry(i));
    expect(reopened.root()).toEqual(reference.root());
    const tiles = new Map<string, Uint8Array>();
    for (const t of tilesForSize(70300)) {
      tiles.set(
        `${t.level}/${t.index}/${t.width}`,
        (await reopened.readTile(t.level, t.index, t.width)) as Uint8Array,
      );
    }
    expect(rootFromTiles(70300, (t) => tiles.get(`${t.level}/${t.index}/${t.width}`))).toEqual(
      reference.root(),
    );
  });

  test('proofs at 10^6 entries take O(log n) storage reads', async () => {
    const memory = new MemoryLogStorage();
    const size = 1_000_000;
    const log = await TransparencyLog.open({
      storage: memory,
      signerKey: keys.signerKey,
      maxBatchSize: 65536,
    });
    for (let from = 0; from < size; from += 100_000) await appendMany(log, from, from + 100_000);
    const { storage, counts } = instrument(memory);
    const reader = await TransparencyLog.open({ storage, signerKey: keys.signerKey, verify: 'fast' });
    const openReads = counts.reads;
    counts.reads = 0;
    const index = 765_432;
    const proof = await reader.createInclusionProof(index);
    verifyInclusionProof(hashLeaf(entry(index)), index, size, proof, log.root());
    const inclusionReads = counts.reads;
    counts.reads = 0;
    await reader.createConsistencyProof(123_457, size);
    const consistencyReads = counts.reads;
    // log2(10^6) ≈ 20 proof hashes; each costs at most one range read.
    expect(inclusionReads).toBeLessThanOrEqual(2 * 20);
    expect(consistencyReads).toBeLessThanOrEqual(2 * 20);
    expect(openReads).toBeLessThanOrEqual(3 * 20);
    expect(reader.root()).toEqual(log.root());
  });
});

describe('checkpoints', () => {
  test('signs a verifiable checkpoint of the current tree and persists it', async () => {
    const storage = new MemoryLogStorage();
    const log = await openLog(storage);
    await appendMany(log, 0, 10);
    const cp = await log.checkpoint();
    const verified = verifyNote(cp.note, [parseVerifierKey(keys.verifierKey)]);
    expect(parseCheckpoint(verified.text)).toEqual({
      origin: 'careledger.example/node-a/log',
      size: 10,
      rootHash: log.root(),
    });
    expect(await storage.latestCheckpoint()).toMatchObject({ size: 10, note: cp.note, time: cp.time });
    expect(log.latestCheckpoint()).toBe(cp.note);
    // Nothing changed: the same checkpoint, not a new signature.
    expect(await log.checkpoint()).toBe(cp);
  });

  test('refuses to sign a tree inconsistent with its last checkpoint (storage changed under it)', async () => {
    const memory = new MemoryLogStorage();
    let tamper = false;
    const storage = delegate(memory);
    storage.readLeafHashes = async (start, end) => {
      const hashes = await memory.readLeafHashes(start, end);
      if (tamper) return hashes.map((h) => hashLeaf(h));
      return hashes;
    };
    const log = await openLog(storage);
    await appendMany(log, 0, 10);
    await log.checkpoint();
    await appendMany(log, 10, 15);
    tamper = true;
    await expect(log.checkpoint()).rejects.toMatchObject({
      code: 'ERR_LOG_EQUIVOCATION',
      details: { reason: 'inconsistent' },
    });
  });

  test('refuses to start when the stored tree does not match the last signed checkpoint', async () => {
    const a = new MemoryLogStorage();
    const logA = await openLog(a);
    await appendMany(logA, 0, 5);
    const cp = await logA.checkpoint();
    // A second store with a different history but the first one's checkpoint.
    const b = new MemoryLogStorage();
    const logB = await openLog(b);
    await Promise.all([0, 1, 2, 3].map((i) => logB.append(entry(i))));
    await logB.append(entry(99));
    await b.saveCheckpoint(cp);
    for (const verify of ['full', 'fast'] as const) {
      await expect(openLog(b, { verify })).rejects.toMatchObject({
        code: 'ERR_LOG_EQUIVOCATION',
        details: { reason: 'checkpoint-root-mismatch' },
      });
    }
    // A checkpoint beyond the stored entries means storage lost data.
    const c = new MemoryLogStorage();
    await c.saveCheckpoint(cp);
    await expect(openLog(c, { verify: 'fast' })).rejects.toMatchObject({
      code: 'ERR_STORAGE',
      details: { reason: 'checkpoint-beyond-log' },
    });
    // A checkpoint signed by another key is refused.
    const other = createSignerKey('careledger.example/node-a/log');
    await expect(
      TransparencyLog.open({ storage: a, signerKey: other.signerKey, verify: 'fast' }),
    ).rejects.toMatchObject({ code: 'ERR_STORAGE', details: { reason: 'checkpoint-signature' } });
  });

  test('checkpoints at most intervalMs after appends, and not while idle', async () => {
    const clock = manualClock();
    const { scheduler, timers, fire } = manualScheduler();
    const log = await openLog();
    const issued: number[] = [];
    const errors: unknown[] = [];
    log.startCheckpointing({
      intervalMs: 1000,
      clock,
      scheduler,
      onCheckpoint: (cp) => {
        issued.push(cp.size);
      },
      onError: (e) => errors.push(e),
    });
    expect(timers.size).toBe(0); // empty log, nothing to sign
    await appendMany(log, 0, 3);
    expect([...timers.values()].map((t) => t.ms)).toEqual([0]); // never checkpointed: due now
    fire();
    await log.stopCheckpointing().then(() => undefined);
    log.startCheckpointing({
      intervalMs: 1000,
      clock,
      scheduler,
      onCheckpoint: (cp) => void issued.push(cp.size),
    });
    expect(issued).toEqual([3]);
    expect(timers.size).toBe(0); // idle: nothing scheduled
    clock.advance(400);
    await appendMany(log, 3, 5);
    expect([...timers.values()].map((t) => t.ms)).toEqual([600]);
    clock.advance(600);
    fire();
    await log.stop();
    expect(issued).toEqual([3, 5]);
    expect(errors).toEqual([]);
  });
});

describe('tlog proofs', () => {
  test('a tlog proof of an entry verifies offline with the log key and carries the entry', async () => {
    const log = await openLog();
    await appendMany(log, 0, 300);
    await expect(log.createTlogProof(3)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await log.checkpoint();
    const text = await log.createTlogProof(257);
    const verified = verifyTlogProof(text, { logVerifier: parseVerifierKey(keys.verifierKey) });
    expect(verified.index).toBe(257);
    expect(verified.leafHash).toEqual(hashLeaf(entry(257)));
    expect(parseSignedNote(text.slice(text.indexOf('\n\n') + 2)).text).toContain('\n300\n');
  });
});
