/**
 * FHIR R4 REST interactions beyond CRUD (issue 13 item 3), over a real node: PATCH (JSON Patch and
 * FHIRPath Patch), conditional update and delete, conditional reads (304), Prefer: return, _format
 * and content negotiation, batch with every kind of entry.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNTHEA_DIR } from '../support/shared-data.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const who = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' };
const JSON_TYPE = { 'content-type': 'application/fhir+json' };

describe('FHIR REST interactions', () => {
  let solo: SoloNode;
  const fhir = (path: string, init: RequestInit = {}) =>
    solo.node.app.request(`/fhir${path}`, {
      ...init,
      headers: { ...who, ...(init.headers as Record<string, string>) },
    });
  const create = async (resource: object): Promise<{ id: string; meta: { versionId: string } }> => {
    const response = await fhir(`/${(resource as { resourceType: string }).resourceType}`, {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify(resource),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; meta: { versionId: string } };
  };

  beforeAll(async () => {
    solo = await startSoloNode();
  });
  afterAll(async () => {
    await solo?.stop();
  });

  it('PATCH with a JSON Patch writes a new version, and If-Match guards it', async () => {
    const patient = await create({ resourceType: 'Patient', name: [{ family: 'Patchy' }], gender: 'female' });
    const patch = [
      { op: 'test', path: '/gender', value: 'female' },
      { op: 'replace', path: '/gender', value: 'other' },
      { op: 'add', path: '/birthDate', value: '1980-01-02' },
    ];
    const patched = await fhir(`/Patient/${patient.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
      body: JSON.stringify(patch),
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('etag')).toBe('W/"2"');
    const body = (await patched.json()) as { gender: string; birthDate: string; meta: { versionId: string } };
    expect(body).toMatchObject({ gender: 'other', birthDate: '1980-01-02', meta: { versionId: '2' } });

    const stale = await fhir(`/Patient/${patient.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json', 'if-match': 'W/"1"' },
      body: JSON.stringify([{ op: 'replace', path: '/gender', value: 'male' }]),
    });
    expect(stale.status).toBe(412);
  });

  it('a failing JSON Patch (a test that fails) stores nothing', async () => {
    const patient = await create({ resourceType: 'Patient', gender: 'female' });
    const response = await fhir(`/Patient/${patient.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([
        { op: 'replace', path: '/gender', value: 'male' },
        { op: 'test', path: '/gender', value: 'female' },
      ]),
    });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    const read = (await (await fhir(`/Patient/${patient.id}`)).json()) as {
      gender: string;
      meta: { versionId: string };
    };
    expect(read).toMatchObject({ gender: 'female', meta: { versionId: '1' } });
  });

  it('a patch that leaves an invalid resource is refused with the element named', async () => {
    const patient = await create({ resourceType: 'Patient', gender: 'female' });
    const response = await fhir(`/Patient/${patient.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'replace', path: '/gender', value: { nested: true } }]),
    });
    expect(response.status).toBe(400);
    const outcome = (await response.json()) as { issue: { expression?: string[] }[] };
    expect(JSON.stringify(outcome.issue)).toContain('gender');
    const malformed = await fhir(`/Patient/${patient.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify({ op: 'replace' }),
    });
    expect(malformed.status).toBe(400);
    const idChange = await fhir(`/Patient/${patient.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: JSON.stringify([{ op: 'replace', path: '/id', value: 'other' }]),
    });
    expect(idChange.status).toBe(422);
  });

  it('PATCH with a FHIRPath Patch: add, insert, replace, delete, move', async () => {
    const patient = await create({
      resourceType: 'Patient',
      name: [{ family: 'Path', given: ['A', 'B'] }],
      telecom: [
        { system: 'phone', value: '555-0100' },
        { system: 'email', value: 'a@example.org' },
      ],
      birthDate: '1970-01-01',
    });
    const op = (parts: object[]) => ({ name: 'operation', part: parts });
    const parameters = {
      resourceType: 'Parameters',
      parameter: [
        op([
          { name: 'type', valueCode: 'add' },
          { name: 'path', valueString: 'Patient' },
          { name: 'name', valueString: 'gender' },
          { name: 'value', valueCode: 'female' },
        ]),
        op([
          { name: 'type', valueCode: 'replace' },
          { name: 'path', valueString: 'Patient.birthDate' },
          { name: 'value', valueDate: '1971-02-03' },
        ]),
        op([
          { name: 'type', valueCode: 'insert' },
          { name: 'path', valueString: 'Patient.name[0].given' },
          { name: 'index', valueInteger: 0 },
          { name: 'value', valueString: 'Z' },
        ]),
        op([
          { name: 'type', valueCode: 'delete' },
          { name: 'path', valueString: "Patient.telecom.where(system = 'email')" },
        ]),
        op([
          { name: 'type', valueCode: 'move' },
          { name: 'path', valueString: 'Patient.name[0].given' },
          { name: 'source', valueInteger: 2 },
          { name: 'destination', valueInteger: 0 },
        ]),
        op([
          { name: 'type', valueCode: 'add' },
          { name: 'path', valueString: 'Patient' },
          { name: 'name', valueString: 'identifier' },
          {
            name: 'value',
            part: [
              { name: 'system', valueUri: 'urn:example:mrn' },
              { name: 'value', valueString: 'MRN-1' },
            ],
          },
        ]),
      ],
    };
    const response = await fhir(`/Patient/${patient.id}`, {
      method: 'PATCH',
      headers: JSON_TYPE,
      body: JSON.stringify(parameters),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      gender: 'female',
      birthDate: '1971-02-03',
      name: [{ family: 'Path', given: ['B', 'Z', 'A'] }],
      telecom: [{ system: 'phone', value: '555-0100' }],
      identifier: [{ system: 'urn:example:mrn', value: 'MRN-1' }],
    });

    const replaceMissing = await fhir(`/Patient/${patient.id}`, {
      method: 'PATCH',
      headers: JSON_TYPE,
      body: JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          op([
            { name: 'type', valueCode: 'replace' },
            { name: 'path', valueString: 'Patient.deceasedBoolean' },
            { name: 'value', valueBoolean: true },
          ]),
        ],
      }),
    });
    expect(replaceMissing.status).toBe(422);
  });

  it('conditional update creates, then updates the one match, and refuses several matches', async () => {
    const identifier = `urn:test:${Date.now()}`;
    const first = await fhir(`/Patient?identifier=${encodeURIComponent(`${identifier}|1`)}`, {
      method: 'PUT',
      headers: JSON_TYPE,
      body: JSON.stringify({ resourceType: 'Patient', identifier: [{ system: identifier, value: '1' }] }),
    });
    expect(first.status).toBe(201);
    const created = (await first.json()) as { id: string };
    const second = await fhir(`/Patient?identifier=${encodeURIComponent(`${identifier}|1`)}`, {
      method: 'PUT',
      headers: JSON_TYPE,
      body: JSON.stringify({
        resourceType: 'Patient',
        identifier: [{ system: identifier, value: '1' }],
        gender: 'male',
      }),
    });
    expect(second.status).toBe(200);
    expect((await second.json()) as object).toMatchObject({
      id: created.id,
      gender: 'male',
      meta: { versionId: '2' },
    });

    await create({ resourceType: 'Patient', identifier: [{ system: identifier, value: '2' }] });
    const several = await fhir(`/Patient?identifier=${encodeURIComponent(`${identifier}|`)}`, {
      method: 'PUT',
      headers: JSON_TYPE,
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(several.status).toBe(412);
    const unknownParameter = await fhir('/Patient?not-a-parameter=1', {
      method: 'PUT',
      headers: JSON_TYPE,
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(unknownParameter.status).toBe(400);
  });

  it('conditional delete removes the one match and refuses several', async () => {
    const identifier = `urn:test:del:${Date.now()}`;
    const patient = await create({
      resourceType: 'Patient',
      identifier: [{ system: identifier, value: '1' }],
    });
    const deleted = await fhir(`/Patient?identifier=${encodeURIComponent(`${identifier}|1`)}`, {
      method: 'DELETE',
    });
    expect(deleted.status).toBe(204);
    expect((await fhir(`/Patient/${patient.id}`)).status).toBe(410);
    await create({ resourceType: 'Patient', identifier: [{ system: identifier, value: '2' }] });
    await create({ resourceType: 'Patient', identifier: [{ system: identifier, value: '3' }] });
    const several = await fhir(`/Patient?identifier=${encodeURIComponent(`${identifier}|`)}`, {
      method: 'DELETE',
    });
    expect(several.status).toBe(412);
    const noCriteria = await fhir('/Patient', { method: 'DELETE' });
    expect(noCriteria.status).toBe(400);
  });

  it('If-None-Match and If-Modified-Since answer 304', async () => {
    const patient = await create({ resourceType: 'Patient', gender: 'female' });
    const same = await fhir(`/Patient/${patient.id}`, { headers: { 'if-none-match': 'W/"1"' } });
    expect(same.status).toBe(304);
    expect(same.headers.get('etag')).toBe('W/"1"');
    expect(await same.text()).toBe('');
    const other = await fhir(`/Patient/${patient.id}`, { headers: { 'if-none-match': 'W/"7"' } });
    expect(other.status).toBe(200);
    const later = new Date(Date.now() + 60_000).toUTCString();
    expect((await fhir(`/Patient/${patient.id}`, { headers: { 'if-modified-since': later } })).status).toBe(
      304,
    );
    const earlier = new Date(Date.now() - 3600_000).toUTCString();
    expect((await fhir(`/Patient/${patient.id}`, { headers: { 'if-modified-since': earlier } })).status).toBe(
      200,
    );
  });

  it('Prefer: return=minimal and return=OperationOutcome', async () => {
    const minimal = await fhir('/Patient', {
      method: 'POST',
      headers: { ...JSON_TYPE, prefer: 'return=minimal' },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(minimal.status).toBe(201);
    expect(minimal.headers.get('location')).toMatch(/\/fhir\/Patient\/[^/]+\/_history\/1$/);
    expect(await minimal.text()).toBe('');
    const outcome = await fhir('/Patient', {
      method: 'POST',
      headers: { ...JSON_TYPE, prefer: 'return=OperationOutcome' },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(outcome.status).toBe(201);
    expect(((await outcome.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
  });

  it('_format and Accept: JSON is served, XML is a 406, an XML body a 415, _pretty indents', async () => {
    const patient = await create({ resourceType: 'Patient' });
    expect((await fhir(`/Patient/${patient.id}?_format=json`)).status).toBe(200);
    expect((await fhir(`/Patient/${patient.id}?_format=application/fhir%2Bjson`)).status).toBe(200);
    const xml = await fhir(`/Patient/${patient.id}?_format=xml`);
    expect(xml.status).toBe(406);
    expect(((await xml.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    expect(
      (await fhir(`/Patient/${patient.id}`, { headers: { accept: 'application/fhir+xml' } })).status,
    ).toBe(406);
    expect(
      (await fhir(`/Patient/${patient.id}`, { headers: { accept: 'text/html, */*;q=0.8' } })).status,
    ).toBe(200);
    const xmlBody = await fhir('/Patient', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+xml' },
      body: '<Patient xmlns="http://hl7.org/fhir"/>',
    });
    expect(xmlBody.status).toBe(415);
    const pretty = await fhir(`/Patient/${patient.id}?_pretty=true`);
    expect(await pretty.text()).toContain('\n  "resourceType"');
  });
  it('a batch runs every kind of entry on its own: read, search, create, conditional create, update, patch, delete', async () => {
    const identifier = `urn:test:batch:${Date.now()}`;
    const existing = await create({
      resourceType: 'Patient',
      identifier: [{ system: identifier, value: '1' }],
    });
    const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/gender', value: 'female' }])).toString(
      'base64',
    );
    const bundle = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Patient/${existing.id}` } },
        { request: { method: 'GET', url: `Patient?identifier=${encodeURIComponent(`${identifier}|1`)}` } },
        { request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient', active: true } },
        {
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${identifier}|1` },
          resource: { resourceType: 'Patient', identifier: [{ system: identifier, value: '1' }] },
        },
        {
          request: { method: 'PATCH', url: `Patient/${existing.id}` },
          resource: { resourceType: 'Binary', contentType: 'application/json-patch+json', data: patch },
        },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
        { request: { method: 'DELETE', url: `Patient/${existing.id}` } },
        { request: { method: 'GET', url: `Patient/${existing.id}/_history/2` } },
        { request: { method: 'FETCH', url: 'Patient' } },
      ],
    };
    const response = await fhir('', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify(bundle) });
    expect(response.status).toBe(200);
    const result = (await response.json()) as {
      type: string;
      entry: {
        resource?: { resourceType: string; gender?: string; total?: number };
        response: { status: string; location?: string };
      }[];
    };
    expect(result.type).toBe('batch-response');
    const statuses = result.entry.map((e) => e.response.status.split(' ')[0]);
    expect(statuses).toEqual(['200', '200', '201', '200', '200', '404', '204', '200', '400']);
    expect(result.entry[1]?.resource).toMatchObject({
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [{ resource: { id: existing.id } }],
    });
    expect(result.entry[2]?.response.location).toMatch(/Patient\/[^/]+\/_history\/1$/);
    expect(result.entry[7]?.resource).toMatchObject({ resourceType: 'Patient', gender: 'female' });
  });

  it('a transaction resolves ifNoneExist, conditional references and URLs, answers in entry order, and reads last', async () => {
    const npi = `urn:test:npi:${Date.now()}`;
    const practitioner = await create({
      resourceType: 'Practitioner',
      identifier: [{ system: npi, value: '42' }],
    });
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Practitioner/${practitioner.id}` } },
        {
          fullUrl: 'urn:uuid:6b7f1b2e-0000-4000-8000-000000000001',
          resource: { resourceType: 'Practitioner', identifier: [{ system: npi, value: '42' }] },
          request: { method: 'POST', url: 'Practitioner', ifNoneExist: `identifier=${npi}|42` },
        },
        {
          fullUrl: 'urn:uuid:6b7f1b2e-0000-4000-8000-000000000002',
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: npi, value: 'p' }],
            generalPractitioner: [{ reference: 'urn:uuid:6b7f1b2e-0000-4000-8000-000000000001' }],
          },
          request: { method: 'PUT', url: `Patient?identifier=${encodeURIComponent(`${npi}|p`)}` },
        },
        {
          fullUrl: 'urn:uuid:6b7f1b2e-0000-4000-8000-000000000003',
          resource: {
            resourceType: 'Encounter',
            status: 'finished',
            class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
            subject: { reference: 'urn:uuid:6b7f1b2e-0000-4000-8000-000000000002' },
            participant: [{ individual: { reference: `Practitioner?identifier=${npi}|42` } }],
          },
          request: { method: 'POST', url: 'Encounter' },
        },
        { request: { method: 'GET', url: `Encounter?subject=Patient/6b7f1b2e-0000-4000-8000-000000000002` } },
      ],
    };
    const response = await fhir('', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify(bundle) });
    const result = (await response.json()) as {
      type: string;
      entry: {
        resource?: {
          resourceType: string;
          total?: number;
          entry?: { resource: { participant: { individual: { reference: string } }[] } }[];
        };
        response: { status: string; location?: string };
      }[];
    };
    expect(response.status).toBe(200);
    expect(result.type).toBe('transaction-response');
    expect(result.entry.map((e) => e.response.status.split(' ')[0])).toEqual([
      '200',
      '200',
      '201',
      '201',
      '200',
    ]);
    expect(result.entry[1]?.response.location).toBe(`Practitioner/${practitioner.id}`);
    const encounters = result.entry[4]?.resource?.entry ?? [];
    expect(encounters).toHaveLength(1);
    expect(encounters[0]?.resource.participant[0]?.individual.reference).toBe(
      `Practitioner/${practitioner.id}`,
    );
    const patient = (await (await fhir(`/Patient/6b7f1b2e-0000-4000-8000-000000000002`)).json()) as {
      generalPractitioner: { reference: string }[];
    };
    expect(patient.generalPractitioner[0]?.reference).toBe(`Practitioner/${practitioner.id}`);
  });

  it('a transaction whose conditional reference finds nothing writes nothing', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6b7f1b2e-0000-4000-8000-0000000000aa',
          resource: { resourceType: 'Patient', active: true },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: 'urn:uuid:6b7f1b2e-0000-4000-8000-0000000000aa' },
            performer: [{ reference: 'Practitioner?identifier=urn:none|0' }],
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    };
    const response = await fhir('', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify(bundle) });
    expect(response.status).toBe(412);
    expect((await fhir('/Patient/6b7f1b2e-0000-4000-8000-0000000000aa')).status).toBe(404);
  });
  it('a Synthea transaction Bundle POSTed as it is stores every entry, and every reference resolves', async () => {
    const file = readdirSync(SYNTHEA_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort()[0] as string;
    const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as { entry: unknown[] };
    const response = await fhir('', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify(bundle) });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { entry: { response: { status: string; location: string } }[] };
    expect(result.entry).toHaveLength(bundle.entry.length);
    expect(result.entry.every((e) => e.response.status.startsWith('201'))).toBe(true);
    const stored = await Promise.all(
      result.entry.map(async (e) => {
        const [type, id] = e.response.location.split('/');
        return (await (await fhir(`/${type}/${id}`)).json()) as Record<string, unknown>;
      }),
    );
    const references = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node !== null && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'reference' && typeof value === 'string') references.add(value);
          else walk(value);
        }
      }
    };
    stored.forEach(walk);
    const known = new Set(stored.map((r) => `${r.resourceType}/${r.id}`));
    // '#id' points at a contained resource of the same resource.
    expect([...references].filter((r) => !r.startsWith('#') && !known.has(r))).toEqual([]);
  });
});
