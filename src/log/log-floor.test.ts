import { describe, expect, test } from 'vitest';
import { isCareLedgerError } from '../errors/index.js';
import { createWitnessRoutes } from '../http/routes/witness-routes.js';
import { MemoryLogStorage } from './memory-log-storage.js';
import { createSignerKey } from './signed-note.js';
import { TransparencyLog } from './transparency-log.js';
import { type FetchLike, Witness } from './witness.js';
import { evaluateWitnessFloor } from './witness-floor.js';

// A node restored from an older copy of its database has a shorter log than its anchor and its
// witnesses know (issue 14, item 3). These tests build "the old copy" as a second log over the same
// key holding the first entries only.

const ORIGIN = 'careledger.example/node-a/log';
const keys = createSignerKey(ORIGIN);
const clock = { now: () => 1_700_000_000_000 };
/** `CODE:reason` of a rejected promise's CareLedgerError. */
async function rejectionOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isCareLedgerError(error)) throw new Error('expected a CareLedgerError');
  return `${error.code}:${String(error.details.reason)} ${error.message}`;
}
const entry = (i: number, fork = ''): Uint8Array => new TextEncoder().encode(`entry ${i}${fork}`);

async function openLog(count: number, fork = '') {
  const log = await TransparencyLog.open({
    storage: new MemoryLogStorage(),
    signerKey: keys.signerKey,
    clock,
  });
  for (let i = 0; i < count; i++) await log.append(entry(i, i >= 10 ? fork : ''));
  if (count > 0) await log.checkpoint();
  return log;
}

describe('TransparencyLog.raiseFloor', () => {
  test('a log behind its anchor fences itself: no append, no checkpoint, and says why', async () => {
    const current = await openLog(15);
    const restored = await openLog(10);
    const fence = await restored.raiseFloor({ source: 'anchor', size: 15, rootHash: current.root() });
    expect(fence).toBe('log size 10 is behind anchor 15');
    expect(restored.fence).toBe(fence);
    expect(await rejectionOf(restored.append(entry(10, ' other')))).toBe(
      'ERR_LOG_UNAVAILABLE:fenced log is fenced: log size 10 is behind anchor 15',
    );
    expect(await rejectionOf(restored.checkpoint())).toBe(
      'ERR_LOG_UNAVAILABLE:fenced log is fenced: log size 10 is behind anchor 15',
    );
    expect(restored.size).toBe(10);
    expect(restored.latestCheckpointRecord()?.size).toBe(10);
  });

  test('a log that already re-used the anchored indices with other entries is fenced (a fork)', async () => {
    const current = await openLog(15);
    const forked = await openLog(16, ' fork');
    const fence = await forked.raiseFloor({ source: 'anchor', size: 15, rootHash: current.root() });
    expect(fence).toBe('log root at size 15 differs from anchor');
    expect(await rejectionOf(forked.checkpoint())).toBe(
      'ERR_LOG_UNAVAILABLE:fenced log is fenced: log root at size 15 differs from anchor',
    );
  });

  test('a floor raised while behind stops the checkpoint that would have signed over it', async () => {
    const current = await openLog(15);
    const restored = await openLog(10);
    for (let i = 10; i < 20; i++) await restored.append(entry(i, ' fork')).catch(() => undefined);
    // The floor is known before the next checkpoint; the appends above already re-used indices 10..14.
    await expect(restored.raiseFloor({ source: 'anchor', size: 15, rootHash: current.root() })).resolves.toBe(
      'log root at size 15 differs from anchor',
    );
    expect(restored.latestCheckpointRecord()?.size).toBe(10);
  });

  test('a log at or ahead of its anchor, with the anchored root, keeps working', async () => {
    const anchored = await openLog(15);
    const log = await openLog(15);
    expect(await log.raiseFloor({ source: 'anchor', size: 15, rootHash: anchored.root() })).toBeUndefined();
    await log.append(entry(15));
    expect((await log.checkpoint()).size).toBe(16);
    expect(log.fence).toBeUndefined();
  });
});

describe('evaluateWitnessFloor', () => {
  function createWitness() {
    const witnessKeys = createSignerKey('careledger.example/node-b/witness', { type: 'cosignature/v1' });
    const witness = new Witness({
      signerKey: witnessKeys.signerKey,
      logs: [{ origin: ORIGIN, verifierKeys: [keys.verifierKey] }],
      storage: new MemoryLogStorage(),
      clock,
    });
    const app = createWitnessRoutes({ addCheckpoint: (body) => witness.addCheckpoint(body) });
    const fetch: FetchLike = (url, init) => Promise.resolve(app.request(new URL(url).pathname, init));
    return { name: 'node-b', url: 'http://witness.test', vkey: witnessKeys.verifierKey, fetch };
  }

  async function cosign(w: ReturnType<typeof createWitness>, log: TransparencyLog) {
    const checkpoint = log.latestCheckpointRecord();
    if (checkpoint === undefined) throw new Error('no checkpoint');
    return evaluateWitnessFloor(w, { checkpoint, log, fetch: w.fetch });
  }

  test('a witness that cosigned a larger tree of our log is a floor we are behind', async () => {
    const w = createWitness();
    const current = await openLog(15);
    expect(await cosign(w, current)).toEqual({ kind: 'not-ahead' });
    const restored = await openLog(10);
    const decision = await cosign(w, restored);
    expect(decision).toEqual({ kind: 'ahead', floor: { source: 'witness node-b', size: 15 } });
    if (decision.kind !== 'ahead') throw new Error('unreachable');
    expect(await restored.raiseFloor(decision.floor)).toBe('log size 10 is behind witness node-b 15');
  });

  test('a witness holding another root at our size is a conflict', async () => {
    const w = createWitness();
    await cosign(w, await openLog(15));
    expect(await cosign(w, await openLog(15, ' fork'))).toEqual({
      kind: 'conflict',
      reason: 'log root at size 15 differs from witness node-b',
    });
  });

  test('a witness behind us cosigns our checkpoint and is no floor', async () => {
    const w = createWitness();
    await cosign(w, await openLog(10));
    expect(await cosign(w, await openLog(15))).toEqual({ kind: 'not-ahead' });
  });
});
