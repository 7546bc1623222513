import { Hono } from 'hono';
import { describe, expect, test } from 'vitest';
import { MemoryLogStorage } from '../../log/memory-log-storage.js';
import { createSignerKey, parseSignedNote, parseVerifierKey, verifyNote } from '../../log/signed-note.js';
import { TransparencyLog } from '../../log/transparency-log.js';
import { formatAddCheckpointRequest, Witness } from '../../log/witness.js';
import { createWitnessRoutes } from './witness-routes.js';

const ORIGIN = 'careledger.example/node-a/log';
const logKeys = createSignerKey(ORIGIN);
const witnessKeys = createSignerKey('careledger.example/node-b/witness', { type: 'cosignature/v1' });

describe('witness routes (c2sp.org/tlog-witness)', () => {
  test('POST /add-checkpoint cosigns, and answers 409 with text/x.tlog.size on a stale old size', async () => {
    const witness = new Witness({
      signerKey: witnessKeys.signerKey,
      logs: [{ origin: ORIGIN, verifierKeys: [logKeys.verifierKey] }],
      storage: new MemoryLogStorage(),
      clock: { now: () => 1_000_000 },
    });
    const app = new Hono();
    app.route('/witness', createWitnessRoutes(witness));
    const log = await TransparencyLog.open({ storage: new MemoryLogStorage(), signerKey: logKeys.signerKey });
    await log.append(new Uint8Array([1]));
    const cp = await log.checkpoint();
    const post = (body: string) => app.request('/witness/add-checkpoint', { method: 'POST', body });

    const ok = await post(formatAddCheckpointRequest(0, [], cp.note));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const lines = await ok.text();
    verifyNote(`${parseSignedNote(cp.note).text}\n${lines}`, [parseVerifierKey(witnessKeys.verifierKey)]);

    const stale = await post(formatAddCheckpointRequest(0, [], cp.note));
    expect(stale.status).toBe(409);
    expect(stale.headers.get('content-type')).toBe('text/x.tlog.size');
    expect(await stale.text()).toBe('1\n');

    expect((await post('garbage')).status).toBe(400);
    expect((await post(`old 0\n\n${'x'.repeat(20_000)}`)).status).toBe(413);
    expect((await app.request('/witness/add-checkpoint')).status).toBe(404);
  });
});
