/**
 * Issue 13 leftovers an outside conformance suite probes (Touchstone, Inferno, the R4 operation
 * definitions), against one real node over a real anvil chain, in-process: `GET [type]/[id]/$validate`,
 * `$everything` with `start`/`end`, and a malformed body's 400 that says where it broke. Each failed
 * before its change (404, 400 "not supported", an outcome naming no place).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const CLINICIAN = { 'x-careledger-identity': 'Practitioner/dr-ops', 'x-careledger-purpose': 'TREAT' };
const JSON_BODY = { ...CLINICIAN, 'content-type': 'application/fhir+json' };

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: FHIR JSON read back in assertions
  body: any;
}

let solo: SoloNode;

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await solo.node.app.request(path, {
    method,
    headers: body === undefined ? CLINICIAN : JSON_BODY,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? '' : JSON.parse(text) };
}

let patientId: string;

beforeAll(async () => {
  solo = await startSoloNode();
  patientId = (await call('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family: 'Ops' }] }))
    .body.id;
});

afterAll(async () => {
  await solo?.stop();
});

describe('GET [type]/[id]/$validate (R4 Resource-validate)', () => {
  it('validates the stored resource, as is and as an update', async () => {
    const plain = await call('GET', `/fhir/Patient/${patientId}/$validate`);
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'informational', diagnostics: 'All OK' }],
    });
    const update = await call('GET', `/fhir/Patient/${patientId}/$validate?mode=update`);
    expect(update.body.issue[0].diagnostics).toBe('All OK');
  });

  it('mode=delete by GET, and a 404 for a resource that does not exist', async () => {
    const remove = await call('GET', `/fhir/Patient/${patientId}/$validate?mode=delete`);
    expect(remove.status).toBe(200);
    expect(remove.body.issue[0].code).toBe('informational');
    const missing = await call('GET', '/fhir/Patient/no-such-patient/$validate');
    expect(missing.status).toBe(404);
    expect(missing.body.resourceType).toBe('OperationOutcome');
  });

  it('a type-level GET has no resource to validate: a 400 naming resource', async () => {
    const answer = await call('GET', '/fhir/Patient/$validate');
    expect(answer.status).toBe(400);
    expect(answer.body.issue[0].expression).toEqual(['resource']);
  });
});

describe('Patient/$everything start and end (R4 patient-operation-everything: care dates)', () => {
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const subject = { reference: `Patient/${patientId}` };
    const records = {
      encounter2019: {
        resourceType: 'Encounter',
        status: 'finished',
        class: { code: 'AMB' },
        subject,
        period: { start: '2019-03-01T10:00:00Z', end: '2019-03-01T11:00:00Z' },
      },
      encounterOpen: {
        resourceType: 'Encounter',
        status: 'in-progress',
        class: { code: 'IMP' },
        subject,
        period: { start: '2021-06-01' },
      },
      observation2020: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'pulse' },
        subject,
        effectiveDateTime: '2020-05-05',
      },
      condition2018: {
        resourceType: 'Condition',
        subject,
        code: { text: 'asthma' },
        recordedDate: '2018-01-10',
      },
      procedure2020: {
        resourceType: 'Procedure',
        status: 'completed',
        subject,
        code: { text: 'x-ray' },
        performedPeriod: { start: '2020-12-31T23:00:00Z', end: '2021-01-01T01:00:00Z' },
      },
      request2022: {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        subject,
        medicationCodeableConcept: { text: 'salbutamol' },
        authoredOn: '2022-02-02',
      },
      immunization2020: {
        resourceType: 'Immunization',
        status: 'completed',
        patient: subject,
        vaccineCode: { text: 'flu' },
        occurrenceDateTime: '2020-10-01',
      },
      undated: {
        resourceType: 'Goal',
        lifecycleStatus: 'active',
        description: { text: 'walk daily' },
        subject,
      },
    };
    for (const [name, resource] of Object.entries(records)) {
      const created = await call('POST', `/fhir/${resource.resourceType}`, resource);
      expect({ name, status: created.status, issue: created.body.issue }).toMatchObject({ status: 201 });
      ids[name] = created.body.id;
    }
  });

  const namesOf = (bundle: { entry: { resource: { id: string } }[] }) =>
    Object.entries(ids)
      .filter(([, id]) => bundle.entry.some((e) => e.resource.id === id))
      .map(([name]) => name)
      .sort();

  it('keeps the records whose care date falls in [start, end], each at its precision, and the undated', async () => {
    const in2020 = await call('GET', `/fhir/Patient/${patientId}/$everything?start=2020&end=2020`);
    expect(in2020.status).toBe(200);
    expect(namesOf(in2020.body)).toEqual(['immunization2020', 'observation2020', 'procedure2020', 'undated']);
    // The Patient itself has no care date: always there.
    expect(in2020.body.entry.some((e: { resource: { id: string } }) => e.resource.id === patientId)).toBe(
      true,
    );
  });

  it('an open start or end runs on; an open Period overlaps everything after its start', async () => {
    const from2021 = await call('GET', `/fhir/Patient/${patientId}/$everything?start=2021-01-01`);
    expect(namesOf(from2021.body)).toEqual(['encounterOpen', 'procedure2020', 'request2022', 'undated']);
    const until2019 = await call('GET', `/fhir/Patient/${patientId}/$everything?end=2019-03`);
    expect(namesOf(until2019.body)).toEqual(['condition2018', 'encounter2019', 'undated']);
  });

  it('a malformed date is a 400 naming the parameter', async () => {
    const answer = await call('GET', `/fhir/Patient/${patientId}/$everything?end=2020-02-30`);
    expect(answer.status).toBe(400);
    expect(answer.body.issue[0].expression).toEqual(['end']);
  });
});

describe('a malformed JSON body (R4 http.html §3.1.0.4: 400 with an OperationOutcome)', () => {
  it('names the element, the line and the column where it broke, and not the text', async () => {
    const text = '{\n  "resourceType": "Patient",\n  "name": [{ "family": "Hidden-Name" "given": ["A"] }]\n}';
    const answer = await call('POST', '/fhir/Patient', text);
    expect(answer.status).toBe(400);
    const [head, detail] = answer.body.issue;
    expect(head.expression).toEqual(['Patient.name[0].family']);
    expect(head.location).toEqual(['Line[3] Col[38]']);
    expect(head.diagnostics).toContain('line 3, column 38');
    expect(detail.diagnostics).toContain("expected ',' or '}'");
    expect(JSON.stringify(answer.body)).not.toContain('Hidden');
  });
});
