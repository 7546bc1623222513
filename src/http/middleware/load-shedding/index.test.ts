import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { loadShedding } from './index.js';

/** A handler that holds its slot until the test opens the gate: no timing, no sleeps. */
function gatedApp(options: { maxInFlight: number; maxQueued: number }) {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const shedding = loadShedding({ ...options, maxQueueWaitMs: 60_000, retryAfterSeconds: 3 });
  const app = new Hono();
  app.use('*', shedding);
  app.get('/work', async (c) => {
    await gate;
    return c.json({ ok: true });
  });
  app.get('/health', (c) => c.json({ status: 'ok' }));
  return { app, shedding, open };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));
/** Requests as if over a socket (the middleware leaves in-process calls alone). */
const overSocket = () => ({ incoming: { socket: {} } });

describe('loadShedding', () => {
  it('serves up to maxInFlight, queues up to maxQueued, and sheds the rest at once with 503 and Retry-After', async () => {
    const { app, shedding, open } = gatedApp({ maxInFlight: 2, maxQueued: 3 });
    const pending = Array.from({ length: 10 }, () => app.request('/work', {}, overSocket()));
    await settle();
    expect(shedding.stats()).toMatchObject({ inFlight: 2, queued: 3, shed: 5 });
    open();
    const answers = await Promise.all(pending);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 503, 503, 503, 503, 503]);
    for (const shed of answers.filter((a) => a.status === 503)) {
      expect(shed.headers.get('retry-after')).toBe('3');
      expect(((await shed.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    }
    expect(shedding.stats()).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('hands a freed slot to the oldest waiter', async () => {
    const { app, open } = gatedApp({ maxInFlight: 1, maxQueued: 5 });
    const order: number[] = [];
    const pending = [0, 1, 2].map(async (i) => {
      const answer = await app.request('/work', {}, overSocket());
      order.push(i);
      return answer;
    });
    await settle();
    open();
    await Promise.all(pending);
    expect(order).toEqual([0, 1, 2]);
  });

  it('never sheds an exempt path', async () => {
    const shedding = loadShedding({
      maxInFlight: 0,
      maxQueued: 0,
      maxQueueWaitMs: 1,
      retryAfterSeconds: 1,
      exempt: (path) => path === '/health',
    });
    const app = new Hono();
    app.use('*', shedding);
    app.get('/health', (c) => c.json({ status: 'ok' }));
    app.get('/work', (c) => c.json({ ok: true }));
    expect((await app.request('/health', {}, overSocket())).status).toBe(200);
    expect((await app.request('/work', {}, overSocket())).status).toBe(503);
    // In-process calls (the node's own, tests) never waited in a socket and are never shed.
    expect((await app.request('/work')).status).toBe(200);
  });
});
