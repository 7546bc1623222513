/**
 * `$validate` (R4 resource-operation-validate.html) and the strict JSON body over HTTP, on one real
 * node over a real anvil chain, in-process (`app.request`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFhirDefinitions } from '../../src/fhir/index.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const IPS = 'http://hl7.org/fhir/uv/ips/StructureDefinition';
const CLINICIAN = { 'x-careledger-identity': 'Practitioner/dr-validate' };
const JSON_BODY = { ...CLINICIAN, 'content-type': 'application/fhir+json' };

interface Outcome {
  resourceType: string;
  issue: { severity: string; code: string; diagnostics?: string; expression?: string[] }[];
}

let solo: SoloNode;

async function post(path: string, body: unknown, headers: Record<string, string> = JSON_BODY) {
  const response = await solo.node.app.request(path, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Outcome & Record<string, unknown> };
}

/** An operator's own profile (node.json `fhir.profileFolders`): IPS Organization with name required. */
const OPERATOR_PROFILE = 'http://example.org/fhir/StructureDefinition/operator-organization';

function writeOperatorProfile(): string {
  const folder = mkdtempSync(join(tmpdir(), 'careledger-operator-profiles-'));
  const base = loadFhirDefinitions().profiles.get(`${IPS}/Organization-uv-ips`)?.structureDefinition;
  const element = (base?.snapshot?.element ?? []).map((e) =>
    e.path === 'Organization.name' ? { ...e, min: 1 } : e,
  );
  const sd = {
    ...base,
    id: 'operator-organization',
    url: OPERATOR_PROFILE,
    name: 'OperatorOrganization',
    snapshot: { element },
  };
  writeFileSync(join(folder, 'StructureDefinition-operator-organization.json'), JSON.stringify(sd));
  return folder;
}

beforeAll(async () => {
  solo = await startSoloNode({ fhir: { profileFolders: [writeOperatorProfile()] } });
});

afterAll(async () => {
  await solo?.stop();
});

describe('POST /fhir/{type}/$validate', () => {
  it('answers 200 "All OK" for a valid resource, and stores nothing', async () => {
    const { status, body } = await post('/fhir/Patient/$validate', {
      resourceType: 'Patient',
      name: [{ family: 'Validate-Only' }],
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational', diagnostics: 'All OK' }],
    });
    const search = await solo.node.app.request('/fhir/Patient?family=Validate-Only', { headers: CLINICIAN });
    expect(((await search.json()) as { total?: number }).total ?? 0).toBe(0);
  });

  it('answers 200 with the issues, each naming its element, for an invalid resource', async () => {
    const { status, body } = await post('/fhir/Patient/$validate', {
      resourceType: 'Patient',
      active: { id: '1' },
      name: [{ given: ['A'] }, { given: [] }],
      maritalStatus: {},
      toString: 'x',
    });
    expect(status).toBe(200);
    const found = body.issue.map((issue) => `${issue.severity} ${issue.expression?.join()}`);
    expect(found).toEqual(
      expect.arrayContaining([
        'error Patient.active',
        'error Patient.name[1].given',
        'error Patient.maritalStatus',
        'error Patient.toString',
      ]),
    );
  });

  it('validates against a profile given as a query parameter or in a Parameters body', async () => {
    const patient = { resourceType: 'Patient', name: [{ family: 'Doe' }] };
    const query = await post(
      `/fhir/Patient/$validate?profile=${encodeURIComponent(`${IPS}/Patient-uv-ips`)}`,
      patient,
    );
    expect(query.status).toBe(200);
    expect(query.body.issue).toContainEqual(
      expect.objectContaining({ severity: 'error', code: 'required', expression: ['Patient.birthDate'] }),
    );
    const wrapped = await post('/fhir/Patient/$validate', {
      resourceType: 'Parameters',
      parameter: [
        { name: 'resource', resource: { ...patient, birthDate: '1980' } },
        { name: 'mode', valueCode: 'create' },
        { name: 'profile', valueUri: `${IPS}/Patient-uv-ips` },
      ],
    });
    expect(wrapped.status).toBe(200);
    expect(wrapped.body.issue).toEqual([
      { severity: 'information', code: 'informational', diagnostics: 'All OK' },
    ]);
  });

  it('validates against a profile the operator configured (fhir.profileFolders)', async () => {
    const { status, body } = await post(
      `/fhir/Organization/$validate?profile=${encodeURIComponent(OPERATOR_PROFILE)}`,
      {
        resourceType: 'Organization',
        identifier: [{ value: 'org-1' }],
      },
    );
    expect(status).toBe(200);
    expect(body.issue).toContainEqual(
      expect.objectContaining({ severity: 'error', code: 'required', expression: ['Organization.name'] }),
    );
  });

  it('refuses a profile this node has not loaded with 400', async () => {
    const { status, body } = await post(
      '/fhir/Patient/$validate?profile=http://example.org/StructureDefinition/nope',
      { resourceType: 'Patient' },
    );
    expect(status).toBe(400);
    expect(body.issue).toContainEqual(expect.objectContaining({ code: 'not-supported' }));
  });

  it('a resource of another type than the URL is an error in the outcome', async () => {
    const { status, body } = await post('/fhir/Observation/$validate', { resourceType: 'Patient' });
    expect(status).toBe(200);
    expect(body.issue).toContainEqual(
      expect.objectContaining({ severity: 'error', code: 'invalid', expression: ['Resource.resourceType'] }),
    );
  });

  it('refuses an unknown mode and an unknown type', async () => {
    expect((await post('/fhir/Patient/$validate?mode=merge', { resourceType: 'Patient' })).status).toBe(400);
    expect((await post('/fhir/Patients/$validate', { resourceType: 'Patient' })).status).toBe(404);
  });

  it('needs an authenticated requester', async () => {
    const response = await solo.node.app.request('/fhir/Patient/$validate', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(response.status).toBe(401);
  });
});

describe('POST /fhir/{type}/{id}/$validate', () => {
  let id = '';

  beforeAll(async () => {
    const created = await post('/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Stored' }] });
    expect(created.status).toBe(201);
    id = created.body.id as string;
  });

  it('mode=update: the resource id must be the URL id', async () => {
    const same = await post(`/fhir/Patient/${id}/$validate?mode=update`, { resourceType: 'Patient', id });
    expect(same.body.issue).toEqual([
      { severity: 'information', code: 'informational', diagnostics: 'All OK' },
    ]);
    const other = await post(`/fhir/Patient/${id}/$validate?mode=update`, {
      resourceType: 'Patient',
      id: 'other',
    });
    expect(other.status).toBe(200);
    expect(other.body.issue).toContainEqual(
      expect.objectContaining({ severity: 'error', expression: ['Patient.id'] }),
    );
    const none = await post(`/fhir/Patient/${id}/$validate?mode=update`, { resourceType: 'Patient' });
    expect(none.body.issue).toContainEqual(
      expect.objectContaining({ code: 'required', expression: ['Patient.id'] }),
    );
  });

  it('mode=delete needs no body and reads the stored resource', async () => {
    const response = await solo.node.app.request(`/fhir/Patient/${id}/$validate?mode=delete`, {
      method: 'POST',
      headers: CLINICIAN,
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as Outcome).issue[0]?.code).toBe('informational');
    const missing = await solo.node.app.request('/fhir/Patient/no-such-patient/$validate?mode=delete', {
      method: 'POST',
      headers: CLINICIAN,
    });
    expect(missing.status).toBe(404);
  });
});

describe('strict bodies on create (issue 14 item 7)', () => {
  it('a duplicate meta (which would drop an HIV label) is a 400 naming Patient.meta, and nothing is stored', async () => {
    const text =
      '{"resourceType":"Patient","name":[{"family":"Duplicate-Meta"}],"meta":{"security":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"HIV"}]},"meta":{"tag":[{"code":"x"}]}}';
    const { status, body } = await post('/fhir/Patient', text);
    expect(status).toBe(400);
    expect(body.issue).toContainEqual(
      expect.objectContaining({ severity: 'error', code: 'structure', expression: ['Patient.meta'] }),
    );
    const search = await solo.node.app.request('/fhir/Patient?family=Duplicate-Meta', { headers: CLINICIAN });
    expect(((await search.json()) as { total?: number }).total ?? 0).toBe(0);
  });

  it.each(['toString', 'valueOf', 'constructor', '__proto__', 'hasOwnProperty'])(
    'an element named %s is a 400',
    async (name) => {
      const { status, body } = await post('/fhir/Patient', `{"resourceType":"Patient","${name}":{"x":1}}`);
      expect(status).toBe(400);
      expect(body.resourceType).toBe('OperationOutcome');
    },
  );

  it('the empty values issue 13 names are a 400 pointing at the element', async () => {
    for (const [resource, expression] of [
      [{ resourceType: 'Patient', active: { id: '1' } }, 'Patient.active'],
      [{ resourceType: 'Patient', name: [] }, 'Patient.name'],
      [{ resourceType: 'Patient', maritalStatus: {} }, 'Patient.maritalStatus'],
    ] as const) {
      const { status, body } = await post('/fhir/Patient', resource);
      expect(status).toBe(400);
      expect(body.issue).toContainEqual(expect.objectContaining({ expression: [expression] }));
    }
  });
});

describe('CapabilityStatement', () => {
  it('lists $validate', async () => {
    const response = await solo.node.app.request('/fhir/metadata');
    const statement = (await response.json()) as {
      rest: { operation: { name: string; definition: string }[] }[];
    };
    expect(statement.rest[0]?.operation).toContainEqual({
      name: 'validate',
      definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
    });
  });
});
