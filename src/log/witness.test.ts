import { describe, expect, test } from 'vitest';
import { createWitnessRoutes } from '../http/routes/witness-routes.js';
import { parseCheckpoint } from './checkpoint.js';
import { MemoryLogStorage } from './memory-log-storage.js';
import {
  createSignerKey,
  parseSignedNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifyNote,
} from './signed-note.js';
import { verifyTlogProof } from './tlog-proof.js';
import { TransparencyLog } from './transparency-log.js';
import {
  CosignatureCollector,
  type FetchLike,
  formatAddCheckpointRequest,
  requestCosignature,
  TLOG_SIZE_CONTENT_TYPE,
  Witness,
} from './witness.js';

const ORIGIN = 'careledger.example/node-a/log';
const logKeys = createSignerKey(ORIGIN);
const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);
const clock = { now: () => 1_700_000_000_000 };

function createWitness(name = 'careledger.example/node-b/witness') {
  const keys = createSignerKey(name, { type: 'cosignature/v1' });
  const storage = new MemoryLogStorage();
  const witness = new Witness({
    signerKey: keys.signerKey,
    logs: [{ origin: ORIGIN, verifierKeys: [logKeys.verifierKey] }],
    storage,
    clock,
  });
  return { witness, storage, vkey: keys.verifierKey };
}

async function createLog(count: number) {
  const log = await TransparencyLog.open({
    storage: new MemoryLogStorage(),
    signerKey: logKeys.signerKey,
    clock,
  });
  await grow(log, 0, count);
  return log;
}

async function grow(log: TransparencyLog, from: number, to: number) {
  await Promise.all(Array.from({ length: to - from }, (_, i) => log.append(entry(from + i))));
  return log.checkpoint();
}

describe('Witness.addCheckpoint', () => {
  test('cosigns a first checkpoint, then a consistent larger one', async () => {
    const { witness, vkey, storage } = createWitness();
    const log = await createLog(10);
    const cp10 = log.latestCheckpoint() as string;
    const first = await witness.addCheckpoint(formatAddCheckpointRequest(0, [], cp10));
    expect(first).toMatchObject({ status: 200, contentType: 'text/plain; charset=utf-8' });
    const text = parseSignedNote(cp10).text;
    const verified = verifyNote(`${text}\n${first.body}`, [parseVerifierKey(vkey)]);
    expect(verified.verified[0]?.timestamp).toBe(1_700_000_000);
    expect(await storage.loadWitnessState(ORIGIN)).toMatchObject({ size: 10, checkpoint: cp10 });

    const cp25 = await grow(log, 10, 25);
    const proof = await log.createConsistencyProof(10, 25);
    const second = await witness.addCheckpoint(formatAddCheckpointRequest(10, proof, cp25.note));
    expect(second.status).toBe(200);
    // Re-submitting the same checkpoint is answered again.
    expect((await witness.addCheckpoint(formatAddCheckpointRequest(25, [], cp25.note))).status).toBe(200);
  });

  test('409 with the recorded size when old is not what it cosigned last', async () => {
    const { witness } = createWitness();
    const log = await createLog(10);
    await witness.addCheckpoint(formatAddCheckpointRequest(0, [], log.latestCheckpoint() as string));
    const cp = await grow(log, 10, 20);
    const stale = await witness.addCheckpoint(
      formatAddCheckpointRequest(5, await log.createConsistencyProof(5, 20), cp.note),
    );
    expect(stale).toEqual({ status: 409, contentType: TLOG_SIZE_CONTENT_TYPE, body: '10\n' });
  });

  test('422 on a consistency proof that does not verify', async () => {
    const { witness } = createWitness();
    const log = await createLog(10);
    await witness.addCheckpoint(formatAddCheckpointRequest(0, [], log.latestCheckpoint() as string));
    const cp = await grow(log, 10, 20);
    const proof = await log.createConsistencyProof(10, 20);
    const first = proof[0] as Uint8Array;
    first[0] = (first[0] ?? 0) ^ 1;
    expect((await witness.addCheckpoint(formatAddCheckpointRequest(10, proof, cp.note))).status).toBe(422);
  });

  test('403 on a bad or untrusted signature, 404 on an unknown origin, 400 on malformed input', async () => {
    const { witness } = createWitness();
    const log = await createLog(3);
    const note = log.latestCheckpoint() as string;
    // Same name, another key: no trusted signature.
    const impostor = createSignerKey(ORIGIN);
    const forged = signNote(parseSignedNote(note).text, [parseSignerKey(impostor.signerKey)]);
    expect((await witness.addCheckpoint(formatAddCheckpointRequest(0, [], forged))).status).toBe(403);
    // The trusted key's signature, altered.
    const bad = note.replace(/ (\S+)\n$/, (_, b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[10] = (bytes[10] ?? 0) ^ 1;
      return ` ${bytes.toString('base64')}\n`;
    });
    expect((await witness.addCheckpoint(formatAddCheckpointRequest(0, [], bad))).status).toBe(403);
    const otherKeys = createSignerKey('other.example/log');
    const otherLog = await TransparencyLog.open({
      storage: new MemoryLogStorage(),
      signerKey: otherKeys.signerKey,
    });
    await otherLog.append(entry(0));
    await otherLog.checkpoint();
    const unknown = await witness.addCheckpoint(
      formatAddCheckpointRequest(0, [], otherLog.latestCheckpoint() as string),
    );
    expect(unknown.status).toBe(404);
    expect((await witness.addCheckpoint('old 0\n')).status).toBe(400);
    expect((await witness.addCheckpoint(formatAddCheckpointRequest(4, [], note))).status).toBe(400);
    expect((await witness.addCheckpoint(`old 00\n\n${note}`)).status).toBe(400);
  });

  test('refuses equivocation: another root at the cosigned size, or a fork at a larger size', async () => {
    const { witness } = createWitness();
    const honest = await createLog(10);
    await witness.addCheckpoint(formatAddCheckpointRequest(0, [], honest.latestCheckpoint() as string));
    // The same key signs a different history (a forked log).
    const fork = await TransparencyLog.open({
      storage: new MemoryLogStorage(),
      signerKey: logKeys.signerKey,
      clock,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => fork.append(entry(i === 7 ? 700 : i))));
    const forked10 = await fork.checkpoint();
    const sameSize = await witness.addCheckpoint(formatAddCheckpointRequest(10, [], forked10.note));
    expect(sameSize.status).toBe(409);
    expect(sameSize.contentType).toBe('text/plain; charset=utf-8');
    const forked20 = await grow(fork, 10, 20);
    const larger = await witness.addCheckpoint(
      formatAddCheckpointRequest(10, await fork.createConsistencyProof(10, 20), forked20.note),
    );
    expect(larger.status).toBe(422);
  });
});

describe('requestCosignature and CosignatureCollector', () => {
  function fetchFor(witnesses: Record<string, Witness | 'down'>): FetchLike {
    return async (url, init) => {
      const { host, pathname } = new URL(url);
      const w = witnesses[host];
      if (w === undefined || w === 'down') throw new TypeError('fetch failed');
      return createWitnessRoutes(w).request(pathname.replace(/^\/witness/, ''), init);
    };
  }

  test('retries once with the size from a 409 and verifies the cosignature', async () => {
    const { witness, vkey } = createWitness();
    const log = await createLog(10);
    await witness.addCheckpoint(formatAddCheckpointRequest(0, [], log.latestCheckpoint() as string));
    const cp = await grow(log, 10, 30);
    const result = await requestCosignature('https://w1/witness', {
      checkpoint: cp.note,
      oldSize: 0, // we forgot what it cosigned: the 409 tells us
      witness: parseVerifierKey(vkey),
      log,
      fetch: fetchFor({ w1: witness }),
    });
    expect(result.size).toBe(30);
    expect(result.timestamp).toBe(1_700_000_000);
  });

  test('2-of-3 witnesses: the cosigned checkpoint is served and tlog proofs verify against the policy', async () => {
    const a = createWitness('w.example/a');
    const b = createWitness('w.example/b');
    const c = createWitness('w.example/c');
    const log = await createLog(40);
    const collector = new CosignatureCollector({
      log,
      policy: {
        threshold: 2,
        witnesses: [
          { name: 'a', url: 'https://a/witness', vkey: a.vkey },
          { name: 'b', url: 'https://b/witness', vkey: b.vkey },
          { name: 'c', url: 'https://c/witness', vkey: c.vkey },
        ],
      },
      fetch: fetchFor({ a: a.witness, b: b.witness, c: 'down' }),
    });
    const plain = log.latestCheckpoint() as string;
    const result = await collector.collect();
    expect(result.cosigned).toBe(true);
    expect([...result.witnesses].sort()).toEqual(['a', 'b']);
    expect(result.failures.map((f) => f.name)).toEqual(['c']);
    expect(log.latestCheckpoint()).toBe(result.checkpoint);
    expect(log.latestCheckpoint()).not.toBe(plain);

    const proof = await log.createTlogProof(17);
    const witnessVerifiers = [a.vkey, b.vkey, c.vkey].map(parseVerifierKey);
    const verified = verifyTlogProof(proof, {
      logVerifier: parseVerifierKey(logKeys.verifierKey),
      witnessVerifiers,
      witnessThreshold: 2,
    });
    expect(verified.witnesses).toHaveLength(2);
    expect(() =>
      verifyTlogProof(proof, {
        logVerifier: parseVerifierKey(logKeys.verifierKey),
        witnessVerifiers,
        witnessThreshold: 3,
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'ERR_LOG_PROOF_INVALID',
        details: expect.objectContaining({ step: 'cosignatures' }),
      }),
    );

    // The next checkpoint: witnesses are asked from the size they cosigned.
    const cp = await grow(log, 40, 50);
    const next = await collector.collect(cp);
    expect(next.cosigned).toBe(true);
    expect(parseCheckpoint(parseSignedNote(next.checkpoint).text).size).toBe(50);

    // With only one witness up, k is not reached and the plain checkpoint stays.
    const weak = new CosignatureCollector({
      log,
      policy: {
        threshold: 2,
        witnesses: [
          { name: 'a', url: 'https://a/witness', vkey: a.vkey },
          { name: 'c', url: 'https://c/witness', vkey: c.vkey },
        ],
      },
      fetch: fetchFor({ a: a.witness, c: 'down' }),
    });
    const cp60 = await grow(log, 50, 60);
    const failed = await weak.collect(cp60);
    expect(failed.cosigned).toBe(false);
    expect(log.latestCheckpoint()).toBe(cp60.note);
  });
});
