import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { securityHeaders } from './index.js';

describe('securityHeaders', () => {
  const app = new Hono();
  app.use('*', securityHeaders());
  app.get('/phi', (c) => c.json({ resourceType: 'Patient' }));
  app.get('/public', (c) => c.json({}, 200, { 'cache-control': 'max-age=300' }));
  app.get('/fail', () => {
    throw new Error('boom');
  });
  app.onError((_error, c) => c.json({ resourceType: 'OperationOutcome' }, 500));

  it('marks every answer nosniff and no-store, errors included', async () => {
    for (const path of ['/phi', '/fail', '/missing']) {
      const answer = await app.request(path);
      expect(answer.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(answer.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  it("keeps a route's own caching (public discovery documents, immutable log tiles)", async () => {
    const answer = await app.request('/public');
    expect(answer.headers.get('cache-control')).toBe('max-age=300');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
  });
});
