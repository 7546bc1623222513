import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { corsPolicy } from './index.js';

describe('corsPolicy', () => {
  const app = new Hono();
  app.use('*', corsPolicy({ allowedOrigins: ['https://portal.example.org/'] }));
  app.get('/fhir/Patient', (c) => c.json({}));

  const preflight = (origin: string) =>
    app.request('/fhir/Patient', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization, x-careledger-identity',
      },
    });

  it('answers a listed origin, and never allows the development identity headers', async () => {
    const answer = await preflight('https://portal.example.org');
    expect(answer.headers.get('access-control-allow-origin')).toBe('https://portal.example.org');
    const allowed = answer.headers.get('access-control-allow-headers')?.toLowerCase() ?? '';
    expect(allowed).toContain('authorization');
    expect(allowed).not.toContain('x-careledger-identity');
    expect(allowed).not.toContain('x-careledger-roles');
  });

  it('gives any other origin nothing to read with', async () => {
    for (const origin of ['https://evil.example', 'null', 'https://portal.example.org.evil.example']) {
      expect((await preflight(origin)).headers.get('access-control-allow-origin'), origin).toBeNull();
      const read = await app.request('/fhir/Patient', { headers: { origin } });
      expect(read.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });
});
