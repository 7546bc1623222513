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

describe('createNodeApp security headers on every answer', () => {
  const app = createNodeApp({ maxBodyBytes: 16, loadShedding: false });
  app.get('/fail', () => {
    throw new Error('boom');
  });
  app.get('/own', (c) => c.text('own', 200, { 'content-security-policy': "default-src 'self'" }));
  app.post('/thing', async (c) => c.text(`posted ${(await c.req.text()).length}`));

  test('every answer has the security headers: a refused body, an error, a missing route, a route of its own', async () => {
    const answers = {
      tooLarge: await app.request('/thing', {
        method: 'POST',
        body: 'x'.repeat(17),
        headers: { 'content-length': '17' },
      }),
      error: await app.request('/fail'),
      missing: await app.request('/nothing-here'),
      own: await app.request('/own'),
    };
    expect(answers.tooLarge.status).toBe(413);
    expect(answers.error.status).toBe(500);
    expect(answers.missing.status).toBe(404);
    for (const [name, answer] of Object.entries(answers)) {
      expect(answer.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(answer.headers.get('cache-control'), name).toBe('no-store');
      expect(answer.headers.get('x-frame-options'), name).toBe('DENY');
    }
    expect(answers.tooLarge.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(answers.own.headers.get('content-security-policy')).toBe("default-src 'self'");
    expect(answers.error.headers.get('content-security-policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
  });
});
