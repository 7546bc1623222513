/**
 * The FHIR REST conventions middleware reads `_format`, `_pretty` and the path through Hono's request
 * (no URL parsed per request since issue 16): the same answers as before, encoded values included.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { fhirRestConventions } from './index.js';

function app(): Hono {
  const hono = new Hono();
  hono.use('/fhir/*', fhirRestConventions());
  hono.get('/fhir/Patient/:id', (c) =>
    c.body(JSON.stringify({ resourceType: 'Patient', id: c.req.param('id') }), 200, {
      'Content-Type': 'application/fhir+json; charset=utf-8',
      ETag: 'W/"1"',
    }),
  );
  hono.post('/fhir/Patient', (c) =>
    c.body(JSON.stringify({ resourceType: 'Patient', id: 'new' }), 201, {
      'Content-Type': 'application/fhir+json; charset=utf-8',
    }),
  );
  hono.post('/fhir/Patient/_search', (c) =>
    c.body(JSON.stringify({ resourceType: 'Bundle' }), 200, {
      'Content-Type': 'application/fhir+json; charset=utf-8',
    }),
  );
  return hono;
}

describe('FHIR REST conventions', () => {
  it('_format naming XML is refused (406); naming JSON, percent-encoded or not, is served', async () => {
    expect((await app().request('/fhir/Patient/1?_format=xml')).status).toBe(406);
    expect((await app().request('/fhir/Patient/1?_format=application%2Ffhir%2Bxml')).status).toBe(406);
    expect((await app().request('/fhir/Patient/1?_format=application%2Ffhir%2Bjson')).status).toBe(200);
    expect((await app().request('/fhir/Patient/1?_format=json&_format=xml')).status).toBe(200);
    expect((await app().request('/fhir/Patient/1?x=1&_format=json')).status).toBe(200);
  });

  it('_pretty=true indents the answer; without it the answer is as written', async () => {
    expect(await (await app().request('/fhir/Patient/1?_pretty=true')).text()).toBe(
      JSON.stringify({ resourceType: 'Patient', id: '1' }, null, 2),
    );
    expect(await (await app().request('/fhir/Patient/1?_pretty=false')).text()).toBe(
      JSON.stringify({ resourceType: 'Patient', id: '1' }),
    );
  });

  it('Prefer: return applies to a create by the path, not to a search by POST', async () => {
    const minimal = await app().request('/fhir/Patient?x=y', {
      method: 'POST',
      headers: { prefer: 'return=minimal', 'content-type': 'application/fhir+json' },
      body: '{}',
    });
    expect(minimal.status).toBe(201);
    expect(await minimal.text()).toBe('');
    const search = await app().request('/fhir/Patient/_search', {
      method: 'POST',
      headers: { prefer: 'return=minimal', 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(await search.json()).toEqual({ resourceType: 'Bundle' });
  });

  it('If-None-Match with the current ETag answers 304', async () => {
    const response = await app().request('/fhir/Patient/1', { headers: { 'if-none-match': 'W/"1"' } });
    expect(response.status).toBe(304);
  });
});
