import { describe, expect, test } from 'vitest';
import { createNodeApp } from './create-node-app.js';

describe('createNodeApp body limit', () => {
  const app = createNodeApp({ maxBodyBytes: 16, loadShedding: false });
  app.get('/thing', (c) => c.text('got'));
  app.post('/thing', async (c) => c.text(`posted ${(await c.req.text()).length}`));
  app.put('/thing', async (c) => c.text(`put ${(await c.req.text()).length}`));

  test('a body over the limit is refused with 413, with or without Content-Length', async () => {
    const big = 'x'.repeat(17);
    const withLength = await app.request('/thing', {
      method: 'POST',
      body: big,
      headers: { 'content-length': '17' },
    });
    expect(withLength.status).toBe(413);
    const streamed = await app.request('/thing', {
      method: 'PUT',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      }),
      duplex: 'half',
    });
    expect(streamed.status).toBe(413);
  });

  test('a body within the limit reaches the route; GET and HEAD pass without a body check', async () => {
    expect(await (await app.request('/thing', { method: 'POST', body: 'x'.repeat(16) })).text()).toBe(
      'posted 16',
    );
    expect(await (await app.request('/thing')).text()).toBe('got');
    expect((await app.request('/thing', { method: 'HEAD' })).status).toBe(200);
  });
});
