/**
 * ValueSet/$expand (R4 valueset-operation-expand.html) over HTTP, in-process, on a real vault: by
 * canonical url, by stored id, with a Parameters body (url, inline valueSet), filter/count/offset
 * paging, and refusal of what needs a terminology server; each expansion audited as a read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { createFhirRoutes } from '../../src/http/routes/fhir-routes.js';
import { createValueSetExpandRoutes } from '../../src/http/routes/value-set-expand-routes.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const clinician: AccessContext = {
  who: 'Practitioner/dr-1',
  organization: 'Riverside General Hospital',
  purpose: 'TREAT',
};
const HEADERS = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' };
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const VITALS_VS = 'http://vs.example/vitals';
const PRESSURE_VS = 'http://vs.example/pressure';
const IS_A_VS = 'http://vs.example/diabetes-is-a';

let vault: TestVault;
let app: ReturnType<typeof createNodeApp>;
let vitalsId: string;

interface Expanded {
  resourceType: string;
  id?: string;
  url?: string;
  expansion: {
    identifier: string;
    timestamp: string;
    total: number;
    offset: number;
    parameter: { name: string; valueInteger?: number; valueString?: string }[];
    contains?: { system: string; code: string; display?: string }[];
  };
  issue?: { code: string; diagnostics?: string }[];
}

async function get(path: string) {
  const response = await app.request(path, { headers: HEADERS });
  return { status: response.status, body: (await response.json()) as Expanded };
}

async function post(path: string, parameter: unknown[]) {
  const response = await app.request(path, {
    method: 'POST',
    headers: { ...HEADERS, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', parameter }),
  });
  return { status: response.status, body: (await response.json()) as Expanded };
}

const codes = (body: Expanded) => (body.expansion.contains ?? []).map((c) => c.code);

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000bc');
  const vitals = await vault.repo.create(
    {
      resourceType: 'ValueSet',
      status: 'active',
      url: VITALS_VS,
      name: 'Vitals',
      compose: {
        include: [
          {
            system: LOINC,
            concept: [
              { code: '8480-6', display: 'Systolic blood pressure' },
              { code: '8462-4', display: 'Diastolic blood pressure' },
              { code: '8310-5', display: 'Body temperature' },
            ],
          },
        ],
      },
    },
    clinician,
  );
  vitalsId = vitals.id as string;
  await vault.repo.create(
    {
      resourceType: 'ValueSet',
      status: 'active',
      url: PRESSURE_VS,
      compose: {
        include: [{ valueSet: [VITALS_VS] }],
        exclude: [{ system: LOINC, concept: [{ code: '8310-5' }] }],
      },
    },
    clinician,
  );
  await vault.repo.create(
    {
      resourceType: 'ValueSet',
      status: 'active',
      url: IS_A_VS,
      compose: {
        include: [{ system: SNOMED, filter: [{ property: 'concept', op: 'is-a', value: '73211009' }] }],
      },
    },
    clinician,
  );
  app = createNodeApp();
  const authenticate = createAuthenticator({
    organization: 'Riverside General Hospital',
    devIdentityHeader: true,
  });
  let next = 0;
  app.route(
    '/fhir',
    createValueSetExpandRoutes({
      repository: vault.repo,
      authenticate,
      newId: () => `00000000-0000-4000-8000-${String(++next).padStart(12, '0')}`,
    }),
  );
  app.route(
    '/fhir',
    createFhirRoutes({
      repository: vault.repo,
      software: { name: 'CareLedger', version: 'test' },
      authenticate,
    }),
  );
});

afterAll(() => vault?.close());

describe('ValueSet/$expand', () => {
  it('expands a stored ValueSet by url, through the ValueSets it includes, with displays', async () => {
    const { status, body } = await get(`/fhir/ValueSet/$expand?url=${encodeURIComponent(PRESSURE_VS)}`);
    expect(status).toBe(200);
    expect(body.resourceType).toBe('ValueSet');
    expect(body.url).toBe(PRESSURE_VS);
    expect(body.expansion.identifier).toMatch(/^urn:uuid:00000000-0000-4000-8000-/);
    expect(body.expansion.timestamp).toBe(vault.clock.now.toISOString());
    expect(body.expansion.total).toBe(2);
    expect(body.expansion.contains).toEqual([
      { system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' },
      { system: LOINC, code: '8480-6', display: 'Systolic blood pressure' },
    ]);
  });

  it('expands a shipped R4 ValueSet by url', async () => {
    const url = 'http://hl7.org/fhir/ValueSet/observation-category';
    const { status, body } = await get(`/fhir/ValueSet/$expand?url=${encodeURIComponent(url)}&filter=vital`);
    expect(status).toBe(200);
    expect(codes(body)).toEqual(['vital-signs']);
  });

  it('expands a stored ValueSet by id', async () => {
    const { status, body } = await get(`/fhir/ValueSet/${vitalsId}/$expand`);
    expect(status).toBe(200);
    expect(body.id).toBe(vitalsId);
    expect(codes(body)).toEqual(['8310-5', '8462-4', '8480-6']);
    const missing = await get('/fhir/ValueSet/no-such-value-set/$expand');
    expect(missing.status).toBe(404);
    expect(missing.body.issue?.map((i) => i.code)).toContain('not-found');
  });

  it('takes a Parameters body: url, or an inline valueSet', async () => {
    const byUrl = await post('/fhir/ValueSet/$expand', [{ name: 'url', valueUri: VITALS_VS }]);
    expect(byUrl.status).toBe(200);
    expect(byUrl.body.expansion.total).toBe(3);
    const inline = await post('/fhir/ValueSet/$expand', [
      {
        name: 'valueSet',
        resource: {
          resourceType: 'ValueSet',
          status: 'draft',
          compose: {
            include: [{ valueSet: [VITALS_VS] }],
            exclude: [{ system: LOINC, concept: [{ code: '8480-6' }] }],
          },
        },
      },
      { name: 'filter', valueString: 'PRESSURE' },
    ]);
    expect(inline.status).toBe(200);
    expect(codes(inline.body)).toEqual(['8462-4']);
    expect(inline.body.expansion.parameter).toContainEqual({ name: 'filter', valueString: 'PRESSURE' });
  });

  it('pages with count and offset, the total counting every match of the filter', async () => {
    const first = await get(`/fhir/ValueSet/${vitalsId}/$expand?count=2&offset=0`);
    const second = await post(`/fhir/ValueSet/${vitalsId}/$expand`, [
      { name: 'count', valueInteger: 2 },
      { name: 'offset', valueInteger: 2 },
    ]);
    expect(codes(first.body)).toEqual(['8310-5', '8462-4']);
    expect(codes(second.body)).toEqual(['8480-6']);
    expect([first.body.expansion.total, second.body.expansion.total]).toEqual([3, 3]);
    expect(second.body.expansion.offset).toBe(2);
    const filtered = await get(`/fhir/ValueSet/${vitalsId}/$expand?filter=blood&count=1&offset=1`);
    expect(filtered.body.expansion.total).toBe(2);
    expect(codes(filtered.body)).toEqual(['8480-6']);
    expect((await get(`/fhir/ValueSet/${vitalsId}/$expand?count=-1`)).status).toBe(400);
  });

  it('refuses what needs a terminology server, naming the reason, and an unknown ValueSet', async () => {
    const isA = await get(`/fhir/ValueSet/$expand?url=${encodeURIComponent(IS_A_VS)}`);
    expect(isA.status).toBe(422);
    expect(isA.body.issue?.map((i) => i.code)).toContain('not-supported');
    expect(JSON.stringify(isA.body)).toContain('needs a terminology server');
    const implicit = await get(
      `/fhir/ValueSet/$expand?url=${encodeURIComponent(`${SNOMED}?fhir_vs=isa/73211009`)}`,
    );
    expect(implicit.status).toBe(422);
    expect(implicit.body.issue?.map((i) => i.code)).toContain('not-supported');
    const unknown = await get(`/fhir/ValueSet/$expand?url=${encodeURIComponent('http://vs.example/none')}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.issue?.map((i) => i.code)).toContain('not-found');
    const both = await post(`/fhir/ValueSet/${vitalsId}/$expand`, [{ name: 'url', valueUri: VITALS_VS }]);
    expect(both.status).toBe(400);
  });

  it('is refused without an identity, and audited as a read', async () => {
    const anonymous = await app.request(`/fhir/ValueSet/${vitalsId}/$expand`);
    expect(anonymous.status).toBe(401);
    const before = vault.log.size;
    await get(`/fhir/ValueSet/${vitalsId}/$expand`);
    expect(vault.log.size).toBeGreaterThan(before);
  });

  it('is listed in the CapabilityStatement', async () => {
    const response = await app.request('/fhir/metadata', { headers: HEADERS });
    const statement = (await response.json()) as {
      rest: { operation: { name: string; definition: string }[] }[];
    };
    expect(statement.rest[0]?.operation).toContainEqual({
      name: 'expand',
      definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand',
    });
  });
});
