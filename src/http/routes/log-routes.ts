import { Hono } from 'hono';
import { isCareLedgerError } from '../../errors/index.js';
import { parseDecimal } from '../../log/base64.js';
import { parseTilePath } from '../../log/tiles.js';
import type { TransparencyLog } from '../../log/transparency-log.js';
import { toErrorResponse } from '../error-response.js';

const TEXT = 'text/plain; charset=utf-8';
const OCTETS = 'application/octet-stream';
/** c2sp.org/tlog-tiles: full tiles never change, so they may be cached forever. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Partial tiles are replaced by wider ones as the log grows. */
const SHORT = 'public, max-age=1';

/** What the routes need from the log. */
export type LogRoutesSource = Pick<
  TransparencyLog,
  'latestCheckpoint' | 'readTile' | 'createTlogProof' | 'createConsistencyProof' | 'latestCheckpointRecord'
>;

/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles) read API of the node's log, plus `GET /proof/<index>`
 * serving a C2SP tlog-proof. Mount under the log's prefix, e.g. `app.route('/log', createLogRoutes(log))`.
 */
export function createLogRoutes(log: LogRoutesSource): Hono {
  const app = new Hono();

  app.get('/checkpoint', (c) => {
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
    if (oldSize === undefined || newSize === undefined || oldSize > newSize)
      return c.text('old and new must be decimal tree sizes with old <= new\n', 400);
    const checkpointed = log.latestCheckpointRecord()?.size ?? 0;
    if (newSize > checkpointed) return c.text('new is beyond the latest checkpoint\n', 404);
    const proof = await log.createConsistencyProof(oldSize, newSize);
    return c.body(proof.map((h) => `${Buffer.from(h).toString('base64')}\n`).join(''), 200, {
      'Content-Type': TEXT,
      'Cache-Control': IMMUTABLE,
    });
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
