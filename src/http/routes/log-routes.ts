import { Hono } from 'hono';
import { CareLedgerError, isCareLedgerError } from '../../errors/index.js';
import { parseDecimal } from '../../log/base64.js';
import { parseTilePath } from '../../log/tiles.js';
import type { TransparencyLog } from '../../log/transparency-log.js';
import { toErrorResponse } from '../error-response.js';

const TEXT = 'text/plain; charset=utf-8';
/** Proofs per `POST /proofs` request: a patient's whole record in one or a few requests. */
export const MAX_BATCH_PROOFS = 1000;

function badRequest(message: string) {
  return toErrorResponse(new CareLedgerError('ERR_INVALID_INPUT', message)).body;
}
const OCTETS = 'application/octet-stream';
/** c2sp.org/tlog-tiles: full tiles never change, so they may be cached forever. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Partial tiles are replaced by wider ones as the log grows. */
const SHORT = 'public, max-age=1';

/** What the routes need from the log. */
export type LogRoutesSource = Pick<
  TransparencyLog,
  'latestCheckpoint' | 'readTile' | 'createTlogProof' | 'createConsistencyProof' | 'latestCheckpointRecord'
> & {
  /**
   * Brings an in-memory view up to the stored log before a checkpoint is served (a worker process's
   * FollowerLog). Without it two workers behind one port could serve a checkpoint and then, from the
   * other worker, none or an older one: a reader must never see the log go backwards.
   */
  readonly refresh?: () => Promise<void>;
};

/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles) read API of the node's log, plus `GET /proof/<index>`
 * serving a C2SP tlog-proof. Mount under the log's prefix, e.g. `app.route('/log', createLogRoutes(log))`.
 */
export function createLogRoutes(log: LogRoutesSource): Hono {
  const app = new Hono();

  app.get('/checkpoint', async (c) => {
    await log.refresh?.().catch(() => undefined);
    const note = log.latestCheckpoint();
    if (note === undefined) return c.text('no checkpoint yet\n', 404);
    return c.body(note, 200, { 'Content-Type': TEXT, 'Cache-Control': 'no-cache' });
  });

  app.get('/tile/:path{.+}', async (c) => {
    let tile: ReturnType<typeof parseTilePath>;
    try {
      tile = parseTilePath(`tile/${c.req.param('path')}`);
    } catch {
      return c.text('malformed tile path\n', 400);
    }
    try {
      const data = await log.readTile(tile.level, tile.index, tile.width);
      if (data === undefined) return c.text('tile not found\n', 404);
      return c.body(new Uint8Array(data), 200, {
        'Content-Type': OCTETS,
        'Cache-Control': tile.width === 256 ? IMMUTABLE : SHORT,
      });
    } catch (error) {
      const { status, body } = toErrorResponse(error);
      return c.json(body, status as 500);
    }
  });

  /**
   * RFC 9162 §2.1.4 consistency proof between two checkpointed sizes, one base64 hash per line (the
   * body format of the C2SP tlog-witness protocol): how a reader brings an anchored checkpoint up to
   * the one a proof was served with, without fetching tiles.
   */
  app.get('/consistency', async (c) => {
    const oldSize = parseDecimal(c.req.query('old') ?? '');
    const newSize = parseDecimal(c.req.query('new') ?? '');
    // RFC 9162 §2.1.4 defines a consistency proof for 0 < old <= new.
    if (oldSize === undefined || newSize === undefined || oldSize === 0 || oldSize > newSize)
      return c.text('old and new must be decimal tree sizes with 0 < old <= new\n', 400);
    await log.refresh?.().catch(() => undefined);
    const checkpointed = log.latestCheckpointRecord()?.size ?? 0;
    if (newSize > checkpointed) return c.text('new is beyond the latest checkpoint\n', 404);
    const proof = await log.createConsistencyProof(oldSize, newSize);
    return c.body(proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join(''), 200, {
      'Content-Type': TEXT,
      'Cache-Control': IMMUTABLE,
    });
  });

  /**
   * Many tlog-proofs in one request: `{ "indices": [3, 17, …] }` (at most MAX_BATCH_PROOFS) answers
   * `{ "proofs": { "3": "<tlog-proof>", "17": null, … } }`, null for an entry no checkpoint covers yet.
   * Each proof is exactly what `GET /proof/<index>` serves; a reader checking a patient's whole record
   * pays one round trip instead of one per version.
   */
  app.post('/proofs', async (c) => {
    let indices: unknown;
    try {
      indices = ((await c.req.json()) as { indices?: unknown }).indices;
    } catch {
      return c.json(badRequest('the body must be JSON: { "indices": [ … ] }'), 400);
    }
    if (
      !Array.isArray(indices) ||
      indices.length > MAX_BATCH_PROOFS ||
      !indices.every((i) => Number.isSafeInteger(i) && (i as number) >= 0)
    ) {
      return c.json(badRequest(`indices must be at most ${MAX_BATCH_PROOFS} non-negative integers`), 400);
    }
    const proofs: Record<string, string | null> = {};
    try {
      for (const index of new Set(indices as number[])) {
        try {
          proofs[String(index)] = await log.createTlogProof(index);
        } catch (error) {
          if (isCareLedgerError(error) && error.code === 'ERR_NOT_FOUND') proofs[String(index)] = null;
          else throw error;
        }
      }
    } catch (error) {
      const { status, body } = toErrorResponse(error);
      return c.json(body, status as 500);
    }
    return c.json({ proofs }, 200, { 'Cache-Control': 'no-cache' });
  });

  app.get('/proof/:index', async (c) => {
    const index = parseDecimal(c.req.param('index'));
    if (index === undefined) return c.text('index must be a decimal entry index\n', 400);
    try {
      const proof = await log.createTlogProof(index);
      return c.body(proof, 200, {
        'Content-Type': TEXT,
        'Content-Disposition': `attachment; filename="entry-${index}.tlog-proof"`,
        'Cache-Control': 'no-cache',
      });
    } catch (error) {
      if (isCareLedgerError(error) && error.code === 'ERR_NOT_FOUND')
        return c.text('entry not checkpointed\n', 404);
      const { status, body } = toErrorResponse(error);
      return c.json(body, status as 500);
    }
  });

  return app;
}
