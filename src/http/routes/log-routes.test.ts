import { Hono } from 'hono';
import { describe, expect, test } from 'vitest';
import { MemoryLogStorage } from '../../log/memory-log-storage.js';
import { createSignerKey, parseVerifierKey } from '../../log/signed-note.js';
import { formatTilePath, rootFromTiles, tilesForSize, verifyEntryBundle } from '../../log/tiles.js';
import { verifyTlogProof } from '../../log/tlog-proof.js';
import { TransparencyLog } from '../../log/transparency-log.js';
import { FollowerLog } from '../../node/workers/follower-log.js';
import { createLogRoutes } from './log-routes.js';

const keys = createSignerKey('careledger.example/node-a/log');
const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry ${i}`);

async function setup(count: number) {
  const log = await TransparencyLog.open({ storage: new MemoryLogStorage(), signerKey: keys.signerKey });
  await Promise.all(Array.from({ length: count }, (_, i) => log.append(entry(i))));
  const app = new Hono();
  app.route('/log', createLogRoutes(log));
  return { log, app };
}

describe('log routes (c2sp.org/tlog-tiles)', () => {
  test('tiles served over HTTP reproduce the checkpoint root', async () => {
    const size = 70_000;
    const { log, app } = await setup(size);
    const checkpoint = await log.checkpoint();
    const res = await app.request('/log/checkpoint');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe(checkpoint.note);

    const tiles = new Map<string, Uint8Array>();
    for (const t of tilesForSize(size)) {
      const path = formatTilePath(t.level, t.index, t.width);
      const r = await app.request(`/log/${path}`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/octet-stream');
      expect(r.headers.get('cache-control')).toBe(
        t.width === 256 ? 'public, max-age=31536000, immutable' : 'public, max-age=1',
      );
      tiles.set(path, new Uint8Array(await r.arrayBuffer()));
    }
    expect(rootFromTiles(size, (t) => tiles.get(formatTilePath(t.level, t.index, t.width)))).toEqual(
      checkpoint.rootHash,
    );

    const bundle = await app.request('/log/tile/entries/001');
    expect(bundle.status).toBe(200);
    verifyEntryBundle(new Uint8Array(await bundle.arrayBuffer()), tiles.get('tile/0/001') as Uint8Array);
    const partial = await app.request(
      `/log/tile/entries/${formatTilePath(0, 273, 112).slice('tile/0/'.length)}`,
    );
    expect(partial.status).toBe(200);
  });

  test('404 beyond the tree, 400 for malformed tile paths', async () => {
    const { app } = await setup(300);
    expect((await app.request('/log/tile/0/001')).status).toBe(404); // only 44 hashes there
    expect((await app.request('/log/tile/0/001.p/44')).status).toBe(200);
    expect((await app.request('/log/tile/0/001.p/45')).status).toBe(404);
    expect((await app.request('/log/tile/1/000.p/1')).status).toBe(200);
    expect((await app.request('/log/tile/1/000.p/2')).status).toBe(404);
    expect((await app.request('/log/tile/2/000.p/1')).status).toBe(404);
    expect((await app.request('/log/tile/entries/002')).status).toBe(404);
    for (const bad of [
      '/log/tile/0/1',
      '/log/tile/0/x000/001',
      '/log/tile/0/000.p/256',
      '/log/tile/64/000',
      '/log/tile/a/000',
    ])
      expect((await app.request(bad)).status).toBe(400);
  });

  test('GET /proof/<index> serves a tlog-proof that verifies offline', async () => {
    const { log, app } = await setup(50);
    expect((await app.request('/log/checkpoint')).status).toBe(404);
    expect((await app.request('/log/proof/3')).status).toBe(404);
    await log.checkpoint();
    const res = await app.request('/log/proof/42');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="entry-42.tlog-proof"');
    const verified = verifyTlogProof(await res.text(), { logVerifier: parseVerifierKey(keys.verifierKey) });
    expect(verified.index).toBe(42);
    expect((await app.request('/log/proof/50')).status).toBe(404);
    expect((await app.request('/log/proof/042')).status).toBe(400);
    expect((await app.request('/log/proof/-1')).status).toBe(400);
  });
  test('POST /proofs: many tlog-proofs in one request, each as GET /proof serves it; consistency between sizes', async () => {
    const { log, app } = await setup(40);
    const early = await log.checkpoint();
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(entry(40 + i))));
    const late = await log.checkpoint();
    await log.append(entry(50)); // not checkpointed yet
    const res = await app.request('/log/proofs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ indices: [0, 17, 49, 50, 17] }),
    });
    expect(res.status).toBe(200);
    const { proofs } = (await res.json()) as { proofs: Record<string, string | null> };
    expect(Object.keys(proofs).sort()).toEqual(['0', '17', '49', '50']);
    expect(proofs['50']).toBeNull();
    for (const index of [0, 17, 49]) {
      const one = await (await app.request(`/log/proof/${index}`)).text();
      expect(proofs[String(index)]).toBe(one);
      const verified = verifyTlogProof(one, {
        logVerifier: parseVerifierKey(keys.verifierKey),
        entry: entry(index),
      });
      expect(verified.index).toBe(index);
    }
    for (const body of [
      '{"indices":[-1]}',
      '{"indices":"3"}',
      'not json',
      JSON.stringify({ indices: Array.from({ length: 1001 }, (_, i) => i) }),
    ]) {
      const bad = await app.request('/log/proofs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(bad.status, body.slice(0, 30)).toBe(400);
    }
    const consistency = await app.request(`/log/consistency?old=${early.size}&new=${late.size}`);
    expect(consistency.status).toBe(200);
    const hashes = (await consistency.text())
      .trim()
      .split('\n')
      .map((l) => Buffer.from(l, 'base64'));
    const { verifyConsistencyProof } = await import('../../log/verify-proof.js');
    verifyConsistencyProof(early.size, late.size, hashes, early.rootHash, late.rootHash);
    expect((await app.request(`/log/consistency?old=${late.size}&new=${early.size}`)).status).toBe(400);
    expect((await app.request(`/log/consistency?old=1&new=${late.size + 5}`)).status).toBe(404);
  });

  test('a worker process serves the checkpoint signed a moment ago, never an older one', async () => {
    const storage = new MemoryLogStorage();
    const primary = await TransparencyLog.open({ storage, signerKey: keys.signerKey });
    // A worker's view that would look for a new checkpoint only once an hour on its own.
    const follower = await FollowerLog.open({
      storage,
      signerKey: keys.signerKey,
      origin: primary.origin,
      appender: { appendAll: () => Promise.reject(new Error('not used')) },
      refreshMs: 3_600_000,
    });
    try {
      const app = new Hono();
      app.route('/log', createLogRoutes(follower));
      expect((await app.request('/log/checkpoint')).status).toBe(404);
      await primary.append(entry(0));
      const signed = await primary.checkpoint();
      const served = await app.request('/log/checkpoint');
      expect(served.status).toBe(200);
      expect(await served.text()).toBe(signed.note);
      await primary.append(entry(1));
      const grown = await primary.checkpoint();
      const proof = await app.request(`/log/consistency?old=${signed.size}&new=${grown.size}`);
      expect(proof.status, await proof.clone().text()).toBe(200);
      expect((await app.request('/log/consistency?old=0&new=1')).status).toBe(400);
    } finally {
      await follower.stop();
    }
  });
});
