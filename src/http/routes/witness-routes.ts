import { Hono } from 'hono';
import { MAX_ADD_CHECKPOINT_BODY, type Witness } from '../../log/witness.js';

/**
 * C2SP tlog-witness (https://c2sp.org/tlog-witness) HTTP interface: `POST /add-checkpoint` under the
 * witness's prefix. All protocol logic lives in Witness.addCheckpoint.
 */
export function createWitnessRoutes(witness: Pick<Witness, 'addCheckpoint'>): Hono {
  const app = new Hono();
  app.post('/add-checkpoint', async (c) => {
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > MAX_ADD_CHECKPOINT_BODY) return c.text('request body too large\n', 413);
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length > MAX_ADD_CHECKPOINT_BODY) return c.text('request body too large\n', 413);
    const response = await witness.addCheckpoint(body);
    return c.body(response.body, response.status as 200, { 'Content-Type': response.contentType });
  });
  return app;
}
