import type { Resource } from '@medplum/fhirtypes';
import type { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../../errors/index.js';
import { createNodeApp, nodeErrorHandler } from '../../create-node-app.js';
import { sendReadResource, sendResource } from '../../routes/fhir-response.js';
import { corsPolicy } from '../cors-policy/index.js';
import { fhirEdge, fhirRestConventions } from './index.js';

const PATIENT: Resource = {
  resourceType: 'Patient',
  id: 'p-1',
  meta: { versionId: '3', lastUpdated: '2026-12-08T01:00:00.000Z' },
};
const ORIGINS = ['https://app.example.org'];

/** The node's shell as two middlewares and `sendResource` (before decision 0053), or as one with complete answers. */
function shell(merged: boolean): Hono {
  const app = createNodeApp({ loadShedding: false });
  if (merged) app.use('/fhir/*', fhirEdge({ allowedOrigins: ORIGINS, onError: nodeErrorHandler(app) }));
  else {
    app.use('/fhir/*', corsPolicy({ allowedOrigins: ORIGINS }));
    app.use('/fhir/*', fhirRestConventions());
  }
  const send = merged
    ? sendReadResource
    : (c: Parameters<typeof sendResource>[0], r: Resource) => sendResource(c, r);
  app.get('/fhir/Patient/:id', (c) => {
    if (c.req.param('id') === 'gone') throw new CareLedgerError('ERR_NOT_FOUND', 'no such Patient');
    if (c.req.param('id') === 'own') {
      c.header('Cache-Control', 'max-age=5');
      return sendResource(c, PATIENT);
    }
    return send(c, PATIENT);
  });
  app.post('/fhir/Patient', (c) => sendResource(c, PATIENT, 201));
  return app;
}

async function answerOf(app: Hono, path: string, init: RequestInit = {}) {
  const answer = await app.request(path, init);
  return { status: answer.status, headers: [...answer.headers.entries()], body: await answer.text() };
}

describe('fhirEdge (CORS and FHIR conventions in one middleware, complete read answers)', () => {
  const before = shell(false);
  const after = shell(true);
  const cases: [string, RequestInit][] = [
    ['/fhir/Patient/p-1', {}],
    ['/fhir/Patient/p-1', { headers: { origin: 'https://app.example.org' } }],
    ['/fhir/Patient/p-1', { headers: { origin: 'https://evil.example' } }],
    ['/fhir/Patient/p-1', { headers: { origin: 'https://app.example.org', 'if-none-match': 'W/"3"' } }],
    ['/fhir/Patient/p-1', { headers: { 'if-modified-since': 'Tue, 08 Dec 2026 02:00:00 GMT' } }],
    ['/fhir/Patient/p-1?_pretty=true', { headers: { origin: 'https://app.example.org' } }],
    ['/fhir/Patient/p-1?_format=xml', { headers: { origin: 'https://app.example.org' } }],
    ['/fhir/Patient/p-1', { headers: { accept: 'application/xml' } }],
    ['/fhir/Patient/p-1', { method: 'HEAD', headers: { origin: 'https://app.example.org' } }],
    ['/fhir/Patient/gone', { headers: { origin: 'https://app.example.org' } }],
    ['/fhir/Patient/own', { headers: { origin: 'https://app.example.org' } }],
    ['/fhir/Nothing/here/at/all', { headers: { origin: 'https://app.example.org' } }],
    [
      '/fhir/Patient',
      {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
      },
    ],
    [
      '/fhir/Patient',
      {
        method: 'OPTIONS',
        headers: {
          origin: 'https://app.example.org',
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'authorization',
        },
      },
    ],
  ];

  it('answers every request with the status, headers and body of the two middlewares it replaces', async () => {
    for (const [path, init] of cases) {
      const label = `${init.method ?? 'GET'} ${path} ${JSON.stringify(init.headers ?? {})}`;
      expect(await answerOf(after, path, init), label).toEqual(await answerOf(before, path, init));
    }
  });

  it('serves a plain read complete: the security and CORS headers are on it', async () => {
    const answer = await after.request('/fhir/Patient/p-1', {
      headers: { origin: 'https://app.example.org' },
    });
    expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example.org');
    expect(answer.headers.get('vary')).toBe('Origin');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.headers.get('etag')).toBe('W/"3"');
    expect(answer.headers.get('last-modified')).toBe('Tue, 08 Dec 2026 01:00:00 GMT');
  });
});
