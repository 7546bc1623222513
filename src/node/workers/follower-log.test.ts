import { describe, expect, test } from 'vitest';
import type { LogStorage } from '../../log/log-storage.js';
import { MemoryLogStorage } from '../../log/memory-log-storage.js';
import { createSignerKey, parseVerifierKey } from '../../log/signed-note.js';
import { verifyTlogProof } from '../../log/tlog-proof.js';
import { TransparencyLog } from '../../log/transparency-log.js';
import { FollowerLog } from './follower-log.js';

const keys = createSignerKey('careledger.example/node-b/log');
const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);

/**
 * The shared storage as a worker reads it, where the last read of a state look (the cosigned
 * checkpoint) can be held after it read its value: a look that read the state before a commit and
 * answers after it.
 */
function heldStorage(storage: MemoryLogStorage) {
  let holding = false;
  let held: (() => void) | undefined;
  const reached: { resolve?: () => void } = {};
  const proxy = new Proxy(storage, {
    get(target, property) {
      if (property === 'latestCosignedCheckpoint' && holding) {
        return async () => {
          const value = await target.latestCosignedCheckpoint();
          holding = false;
          await new Promise<void>((resolve) => {
            held = resolve;
            reached.resolve?.();
          });
          return value;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as LogStorage;
  return {
    storage: proxy,
    /** Holds the next state look once it has read; resolves when it is held. */
    holdNextLook: () =>
      new Promise<void>((resolve) => {
        holding = true;
        reached.resolve = resolve;
      }),
    release: () => held?.(),
  };
}

describe('FollowerLog (a process that reads the log another process sequences)', () => {
  test('a proof asked after a commit is served from a look that began after it, not one already under way', async () => {
    const shared = new MemoryLogStorage();
    const sequencer = await TransparencyLog.open({ storage: shared, signerKey: keys.signerKey });
    await sequencer.append(entry(0));
    await sequencer.checkpoint();
    const gate = heldStorage(shared);
    const follower = await FollowerLog.open({
      storage: gate.storage,
      signerKey: keys.signerKey,
      origin: sequencer.origin,
      appender: { appendAll: () => Promise.reject(new Error('not used')) },
      refreshMs: 3_600_000,
    });
    try {
      // The periodic look reads the stored state (size 1) and is held before it answers...
      const held = gate.holdNextLook();
      const periodic = follower.refresh();
      await held;
      // ...while the sequencer (another process) commits entry 1 and checkpoints it; the writer is
      // acknowledged, and its reader asks this process for the proof.
      const { index } = await sequencer.append(entry(1));
      const signed = await sequencer.checkpoint();
      const proof = follower.createTlogProof(index);
      gate.release();
      await periodic;
      verifyTlogProof(await proof, { logVerifier: parseVerifierKey(keys.verifierKey), entry: entry(1) });
      expect(follower.latestCheckpointRecord()?.size).toBe(signed.size);
    } finally {
      await follower.stop();
    }
  });

  test('looks asked together while one is under way share one further look', async () => {
    const shared = new MemoryLogStorage();
    const sequencer = await TransparencyLog.open({ storage: shared, signerKey: keys.signerKey });
    await sequencer.append(entry(0));
    await sequencer.checkpoint();
    const gate = heldStorage(shared);
    const follower = await FollowerLog.open({
      storage: gate.storage,
      signerKey: keys.signerKey,
      origin: sequencer.origin,
      appender: { appendAll: () => Promise.reject(new Error('not used')) },
      refreshMs: 3_600_000,
    });
    try {
      const held = gate.holdNextLook();
      const first = follower.refresh();
      await held;
      const second = follower.refresh();
      const third = follower.refresh();
      expect(second).not.toBe(first);
      expect(third).toBe(second);
      gate.release();
      await Promise.all([first, second, third]);
    } finally {
      await follower.stop();
    }
  });
});
