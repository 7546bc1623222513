/**
 * FHIR R4 REST conformance probes (issue 13), as an outside suite (Touchstone FHIR4-0-1-Basic, the
 * crucible-style CRUD and history tests) sends them, against one real node over a real anvil chain,
 * in-process (`app.request`). Each test here failed against the node before its fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const CLINICIAN = { 'x-careledger-identity': 'Practitioner/dr-conform', 'x-careledger-purpose': 'TREAT' };
const JSON_BODY = { ...CLINICIAN, 'content-type': 'application/fhir+json' };

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: FHIR JSON read back in assertions
  body: any;
}

let solo: SoloNode;

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await solo.node.app.request(path.replace(/^https?:\/\/[^/]+/, ''), {
    method,
    headers: { ...(body === undefined ? CLINICIAN : JSON_BODY), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? '' : JSON.parse(text) };
}

beforeAll(async () => {
  solo = await startSoloNode();
});

afterAll(async () => {
  await solo?.stop();
});

describe('history (R4 http.html §3.1.0.10)', () => {
  it('pages a type history with _count through next links that work, each version once', async () => {
    const created = await call('POST', '/fhir/Organization', {
      resourceType: 'Organization',
      name: 'Paged 1',
    });
    const id = created.body.id as string;
    for (const name of ['Paged 2', 'Paged 3', 'Paged 4']) {
      await call('PUT', `/fhir/Organization/${id}`, { resourceType: 'Organization', id, name });
    }
    const seen: string[] = [];
    let page = await call('GET', '/fhir/Organization/_history?_count=2');
    expect(page.status).toBe(200);
    for (let hops = 0; hops < 10; hops++) {
      expect(page.body.entry.length).toBeLessThanOrEqual(2);
      for (const entry of page.body.entry) seen.push(`${entry.resource?.id}/${entry.response.etag}`);
      const next = page.body.link.find((l: { relation: string }) => l.relation === 'next');
      if (next === undefined) break;
      page = await call('GET', next.url);
      expect(page.status).toBe(200);
    }
    expect(seen).toEqual([`${id}/W/"4"`, `${id}/W/"3"`, `${id}/W/"2"`, `${id}/W/"1"`]);
  });

  it('pages an instance history too, with a self link', async () => {
    const created = await call('POST', '/fhir/Organization', { resourceType: 'Organization', name: 'One' });
    const id = created.body.id as string;
    await call('PUT', `/fhir/Organization/${id}`, { resourceType: 'Organization', id, name: 'Two' });
    await call('PUT', `/fhir/Organization/${id}`, { resourceType: 'Organization', id, name: 'Three' });
    const first = await call('GET', `/fhir/Organization/${id}/_history?_count=2`);
    expect(first.status).toBe(200);
    expect(first.body.total).toBe(3);
    expect(first.body.link[0].relation).toBe('self');
    expect(first.body.entry.map((e: { response: { etag: string } }) => e.response.etag)).toEqual([
      'W/"3"',
      'W/"2"',
    ]);
    const next = first.body.link.find((l: { relation: string }) => l.relation === 'next');
    const second = await call('GET', next.url);
    expect(second.body.entry.map((e: { response: { etag: string } }) => e.response.etag)).toEqual(['W/"1"']);
  });

  it('lists the versions current during _at, and those from _since, on an instance', async () => {
    const created = await call('POST', '/fhir/Organization', { resourceType: 'Organization', name: 'At 1' });
    const id = created.body.id as string;
    const second = await call('PUT', `/fhir/Organization/${id}`, {
      resourceType: 'Organization',
      id,
      name: 'At 2',
    });
    const since = second.body.meta.lastUpdated as string;
    const fromSince = await call('GET', `/fhir/Organization/${id}/_history?_since=${since}`);
    expect(fromSince.body.entry.map((e: { response: { etag: string } }) => e.response.etag)).toEqual([
      'W/"2"',
    ]);
    // Any instant after the second version was written: only it was current then.
    const at = await call('GET', `/fhir/Organization/${id}/_history?_at=9999-01-01T00:00:00Z`);
    expect(at.body.entry.map((e: { response: { etag: string } }) => e.response.etag)).toEqual(['W/"2"']);
    // Type history serves `_at` too since system history (decision 0051); a malformed one is named.
    const refused = await call('GET', '/fhir/Organization/_history?_at=yesterday');
    expect(refused.status).toBe(400);
    expect(refused.body.issue[0].expression).toEqual(['_at']);
  });
});

describe('_summary and _elements on read (R4 search.html §3.1.1.5.8-9)', () => {
  it('read and vread return the subset, tagged SUBSETTED', async () => {
    const created = await call('POST', '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Subset' }],
      gender: 'female',
      birthDate: '1971-02-03',
    });
    const id = created.body.id as string;
    const elements = await call('GET', `/fhir/Patient/${id}?_elements=gender`);
    expect(elements.status).toBe(200);
    expect(elements.body.gender).toBe('female');
    expect(elements.body.name).toBeUndefined();
    expect(elements.body.meta.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
    const summary = await call('GET', `/fhir/Patient/${id}/_history/1?_summary=true`);
    expect(summary.body.birthDate).toBe('1971-02-03');
    expect(summary.body.meta.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
    const count = await call('GET', `/fhir/Patient/${id}?_summary=count`);
    expect(count.status).toBe(400);
    expect(count.body.issue[0].expression).toEqual(['_summary']);
  });
});

describe('OperationOutcome.issue.expression on a 4xx', () => {
  it('names the parameter or element of each malformed request', async () => {
    const created = await call('POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'male' });
    const id = created.body.id as string;
    const cases: [string, string, unknown, Record<string, string>, string][] = [
      ['GET', '/fhir/Patient?bogus=1', undefined, { prefer: 'handling=strict' }, 'bogus'],
      ['GET', '/fhir/Patient?birthdate=notadate', undefined, {}, 'birthdate'],
      ['GET', '/fhir/Patient/_history?_count=abc', undefined, {}, '_count'],
      ['POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'bogus' }, {}, 'Patient.gender'],
      ['POST', '/fhir/Patient', { resourceType: 'Observation' }, {}, 'Resource.resourceType'],
      ['PUT', `/fhir/Patient/${id}`, { resourceType: 'Patient', id: 'other' }, {}, 'Patient.id'],
      ['GET', '/fhir/Patient/not_an_id!', undefined, {}, 'id'],
      ['PUT', '/fhir/Patient', { resourceType: 'Patient' }, {}, 'condition'],
      ['PUT', `/fhir/Patient/${id}`, { resourceType: 'Patient', id }, { 'if-match': 'nonsense' }, 'If-Match'],
    ];
    for (const [method, path, body, headers, expected] of cases) {
      const answer = await call(method, path, body, headers);
      expect(answer.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(answer.body.resourceType).toBe('OperationOutcome');
      expect(answer.body.issue[0].expression, `${method} ${path}`).toContain(expected);
    }
  });
});

describe('transaction (R4 http.html §3.1.0.11.2)', () => {
  it('applies a FHIRPath Patch entry (a Parameters resource) with the other entries', async () => {
    const created = await call('POST', '/fhir/Patient', { resourceType: 'Patient', gender: 'male' });
    const id = created.body.id as string;
    const answer = await call('POST', '/fhir', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: {
            resourceType: 'Parameters',
            parameter: [
              {
                name: 'operation',
                part: [
                  { name: 'type', valueCode: 'replace' },
                  { name: 'path', valueString: 'Patient.gender' },
                  { name: 'value', valueCode: 'female' },
                ],
              },
            ],
          },
          request: { method: 'PATCH', url: `Patient/${id}` },
        },
        {
          resource: { resourceType: 'Organization', name: 'With a patch' },
          request: { method: 'POST', url: 'Organization' },
        },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
      '200 OK',
      '201 Created',
    ]);
    expect((await call('GET', `/fhir/Patient/${id}`)).body.gender).toBe('female');
  });
});

describe('transaction POST creates (R4 http.html#trules)', () => {
  it('gives a POST entry a new id when its urn:uuid or body id names a resource that exists', async () => {
    const existing = await call('PUT', '/fhir/Organization/kept-org', {
      resourceType: 'Organization',
      id: 'kept-org',
      name: 'Kept',
    });
    expect(existing.status).toBe(201);
    const fullUrl = 'urn:uuid:6d0ab1f4-5a4e-4a36-9d3e-6f1b3b0c2e11';
    const transaction = (name: string) => ({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl,
          resource: { resourceType: 'Organization', name },
          request: { method: 'POST', url: 'Organization' },
        },
        {
          resource: { resourceType: 'Organization', id: 'kept-org', name: `${name} (body id)` },
          request: { method: 'POST', url: 'Organization' },
        },
        {
          resource: {
            resourceType: 'Location',
            name: `${name} site`,
            managingOrganization: { reference: fullUrl },
          },
          request: { method: 'POST', url: 'Location' },
        },
      ],
    });
    const first = await call('POST', '/fhir', transaction('First'));
    const second = await call('POST', '/fhir', transaction('Second'));
    for (const answer of [first, second]) {
      expect(answer.status).toBe(200);
      expect(answer.body.entry.map((e: { response: { status: string } }) => e.response.status)).toEqual([
        '201 Created',
        '201 Created',
        '201 Created',
      ]);
    }
    const location = (answer: Answer, i: number) =>
      (answer.body.entry[i].response.location as string).replace(/\/_history\/.*$/, '');
    expect(location(second, 0)).not.toBe(location(first, 0));
    expect(location(first, 1)).not.toBe('Organization/kept-org');
    expect((await call('GET', `/fhir/${location(first, 0)}`)).body.name).toBe('First');
    expect((await call('GET', '/fhir/Organization/kept-org')).body.name).toBe('Kept');
    // The second Bundle's reference follows its own entry's new id.
    const site = await call('GET', `/fhir/${location(second, 2)}`);
    expect(site.body.managingOrganization.reference).toBe(location(second, 0));
  });
});

describe('Patient/$everything (R4 patient-operation-everything.html)', () => {
  it('honours _type, _since and _count (with next links), and refuses start/end rather than ignore them', async () => {
    const patient = await call('POST', '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Everything' }],
    });
    const id = patient.body.id as string;
    for (const text of ['one', 'two', 'three']) {
      await call('POST', '/fhir/Observation', {
        resourceType: 'Observation',
        status: 'final',
        code: { text },
        subject: { reference: `Patient/${id}` },
      });
    }
    const types = (answer: Answer) =>
      answer.body.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType).sort();
    const onlyPatient = await call('GET', `/fhir/Patient/${id}/$everything?_type=Patient`);
    expect(types(onlyPatient)).toEqual(['Patient']);
    const future = await call('GET', `/fhir/Patient/${id}/$everything?_since=2999-01-01T00:00:00Z`);
    expect(future.body.entry).toEqual([]);
    const seen: string[] = [];
    let page = await call('GET', `/fhir/Patient/${id}/$everything?_count=2`);
    expect(page.body.total).toBe(4);
    for (let hops = 0; hops < 5; hops++) {
      expect(page.body.entry.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.entry.map((e: { fullUrl: string }) => e.fullUrl));
      const next = page.body.link.find((l: { relation: string }) => l.relation === 'next');
      if (next === undefined) break;
      page = await call('GET', next.url);
    }
    expect(new Set(seen).size).toBe(4);
    // start/end are served since decision 0051 (test/fhir/conformance-operations); a malformed one is named.
    const start = await call('GET', `/fhir/Patient/${id}/$everything?start=2020-13-01`);
    expect(start.status).toBe(400);
    expect(start.body.issue[0].expression).toEqual(['start']);
  });
});

describe('$validate (R4 resource-operation-validate.html)', () => {
  it('takes the core profile of the type as a profile it has loaded', async () => {
    const answer = await call(
      'POST',
      '/fhir/Patient/$validate?profile=http://hl7.org/fhir/StructureDefinition/Patient',
      { resourceType: 'Patient', gender: 'male' },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.issue).toEqual([
      { severity: 'information', code: 'informational', diagnostics: 'All OK' },
    ]);
  });

  it('names the profile parameter when the profile is not loaded', async () => {
    const answer = await call('POST', '/fhir/Patient/$validate?profile=http://example.org/none', {
      resourceType: 'Patient',
    });
    expect(answer.status).toBe(400);
    expect(answer.body.issue[0].expression).toEqual(['profile']);
  });
});

describe('CapabilityStatement (R4 capabilitystatement.html)', () => {
  it('lists a search parameter only where a strict search honours it', async () => {
    const statement = await call('GET', '/fhir/metadata');
    const example: Record<string, string> = {
      string: 'x',
      token: 'x',
      reference: 'Patient/x',
      date: 'ge2000',
      number: 'gt0',
      quantity: 'gt0',
      uri: 'http://example.org/x',
    };
    const refused: string[] = [];
    for (const resource of statement.body.rest[0].resource) {
      if (!['Binary', 'Bundle', 'Patient'].includes(resource.type)) continue;
      for (const param of resource.searchParam as { name: string; type: string }[]) {
        const value = example[param.type];
        if (value === undefined) continue;
        const query = `${encodeURIComponent(param.name)}=${encodeURIComponent(value)}`;
        const answer = await call('GET', `/fhir/${resource.type}?${query}`, undefined, {
          prefer: 'handling=strict',
        });
        if (answer.status !== 200) refused.push(`${resource.type}.${param.name}`);
      }
    }
    expect(refused).toEqual([]);
  });
});
