/**
 * `:in` and `:not-in` (R4 search.html §3.1.1.5.10) over a real vault: ValueSets stored on the node
 * (compose concepts, include.valueSet, exclude, a present expansion), shipped R4 ValueSets, and
 * intensional ones that need a terminology server: refused (strict) or reported and left out of the
 * self link (lenient, R4 §3.1.1.4), never silently dropped.
 */
import type { Condition, Observation, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../../src/audit/create-audit-event.js';
import { createAuthenticator } from '../../../src/http/authenticate-request.js';
import { createNodeApp } from '../../../src/http/create-node-app.js';
import { createFhirRoutes } from '../../../src/http/routes/fhir-routes.js';
import { openTestVault, type TestVault } from '../../support/open-test-vault.js';

const clinician: AccessContext = {
  who: 'Practitioner/dr-1',
  organization: 'Riverside General Hospital',
  purpose: 'TREAT',
};
const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const VITALS_VS = 'http://vs.example/vitals';
const PRESSURE_VS = 'http://vs.example/pressure';
const EXPANDED_VS = 'http://vs.example/diabetes-expanded';
const IS_A_VS = 'http://vs.example/diabetes-is-a';

let vault: TestVault;
const observations: Record<string, Observation> = {};
const conditions: Record<string, Condition> = {};

async function create<T extends Resource>(resource: T): Promise<T> {
  return (await vault.repo.create(resource, clinician)) as T;
}

function observation(code: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code }] },
    subject: { reference: 'Patient/p1' },
  };
}

async function search(
  type: string,
  query: Record<string, string>,
  handling: 'strict' | 'lenient' = 'strict',
) {
  return vault.repo.search(type, new URLSearchParams(query), clinician, { handling });
}

const ids = (resources: readonly Resource[]) => resources.map((r) => `${r.resourceType}/${r.id}`).sort();

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000bb');
  await vault.repo.update({ resourceType: 'Patient', id: 'p1' }, clinician);
  observations.systolic = await create(observation('8480-6'));
  observations.diastolic = await create(observation('8462-4'));
  observations.temperature = await create(observation('8310-5'));
  observations.glucose = await create(observation('2339-0'));
  for (const [name, code] of [
    ['type2', '44054006'],
    ['type1', '46635009'],
    ['asthma', '195967001'],
  ] as const) {
    conditions[name] = await create<Condition>({
      resourceType: 'Condition',
      subject: { reference: 'Patient/p1' },
      code: { coding: [{ system: SNOMED, code }] },
    });
  }
  await create({
    resourceType: 'ValueSet',
    status: 'active',
    url: VITALS_VS,
    compose: {
      include: [{ system: LOINC, concept: [{ code: '8480-6' }, { code: '8462-4' }, { code: '8310-5' }] }],
    },
  });
  await create({
    resourceType: 'ValueSet',
    status: 'active',
    url: PRESSURE_VS,
    compose: {
      include: [{ valueSet: [VITALS_VS] }],
      exclude: [{ system: LOINC, concept: [{ code: '8310-5' }] }],
    },
  });
  await create({
    resourceType: 'ValueSet',
    status: 'active',
    url: EXPANDED_VS,
    compose: {
      include: [{ system: SNOMED, filter: [{ property: 'concept', op: 'is-a', value: '73211009' }] }],
    },
    expansion: {
      timestamp: '2026-01-01T00:00:00Z',
      contains: [
        { system: SNOMED, code: '44054006' },
        { system: SNOMED, code: '46635009' },
      ],
    },
  });
  await create({
    resourceType: 'ValueSet',
    status: 'active',
    url: IS_A_VS,
    compose: {
      include: [{ system: SNOMED, filter: [{ property: 'concept', op: 'is-a', value: '73211009' }] }],
    },
  });
});
afterAll(() => vault.close());

describe(':in and :not-in with ValueSets stored on the node', () => {
  it('expands compose concepts, include.valueSet and exclude', async () => {
    const vitals = await search('Observation', { 'code:in': VITALS_VS });
    expect(ids(vitals.resources)).toEqual(
      ids([observations.systolic, observations.diastolic, observations.temperature] as Observation[]),
    );
    const pressure = await search('Observation', { 'code:in': `${PRESSURE_VS}|2.0` });
    expect(ids(pressure.resources)).toEqual(
      ids([observations.systolic, observations.diastolic] as Observation[]),
    );
    const notIn = await search('Observation', { 'code:not-in': PRESSURE_VS });
    expect(ids(notIn.resources)).toEqual(
      ids([observations.temperature, observations.glucose] as Observation[]),
    );
    // Alternatives are ORed.
    const either = await search('Condition', { 'code:in': `${PRESSURE_VS},${EXPANDED_VS}` });
    expect(ids(either.resources)).toEqual(ids([conditions.type2, conditions.type1] as Condition[]));
  });

  it('uses a stored ValueSet expansion even when its compose needs a terminology server', async () => {
    const diabetes = await search('Condition', { 'code:in': EXPANDED_VS });
    expect(ids(diabetes.resources)).toEqual(ids([conditions.type2, conditions.type1] as Condition[]));
  });

  it('sees a new version of a stored ValueSet at once', async () => {
    const [stored] = (await search('ValueSet', { url: VITALS_VS })).resources;
    await vault.repo.update(
      {
        ...(stored as Resource),
        compose: { include: [{ system: LOINC, concept: [{ code: '2339-0' }] }] },
      } as Resource,
      clinician,
    );
    const vitals = await search('Observation', { 'code:in': VITALS_VS });
    expect(ids(vitals.resources)).toEqual(ids([observations.glucose] as Observation[]));
  });

  it('works inside a chain', async () => {
    const found = await search('Observation', {
      'subject:Patient._has:Condition:subject:code:in': EXPANDED_VS,
    });
    expect(found.resources).toHaveLength(4);
    expect(found.ignored).toEqual([]);
  });
});

describe(':in and :not-in with whole code systems (SNOMED CT, LOINC) no node holds in full', () => {
  const ALL_SNOMED_BUT_ASTHMA = 'http://vs.example/snomed-but-asthma';
  beforeAll(async () => {
    await create({
      resourceType: 'ValueSet',
      status: 'active',
      url: ALL_SNOMED_BUT_ASTHMA,
      compose: {
        include: [{ system: SNOMED }],
        exclude: [{ system: SNOMED, concept: [{ code: '195967001' }] }],
      },
    });
  });

  it('the shipped observation-codes (all of LOINC) matches every LOINC-coded Observation', async () => {
    const found = await search('Observation', {
      'code:in': 'http://hl7.org/fhir/ValueSet/observation-codes',
    });
    expect(ids(found.resources)).toEqual(ids(Object.values(observations)));
    const none = await search('Observation', {
      'code:not-in': 'http://hl7.org/fhir/ValueSet/observation-codes',
    });
    expect(none.resources).toEqual([]);
  });

  it('a stored ValueSet including all of SNOMED CT less one code: members by system, the exclusion kept', async () => {
    const found = await search('Condition', { 'code:in': ALL_SNOMED_BUT_ASTHMA });
    expect(ids(found.resources)).toEqual(ids([conditions.type1, conditions.type2] as Condition[]));
    const not = await search('Condition', { 'code:not-in': ALL_SNOMED_BUT_ASTHMA });
    expect(ids(not.resources)).toEqual(ids([conditions.asthma] as Condition[]));
  });
});

describe(':in with ValueSets that cannot be expanded here', () => {
  const intensional = [IS_A_VS, `${SNOMED}?fhir_vs=isa/73211009`, 'http://vs.example/unknown'];

  it('refuses them under Prefer: handling=strict, naming the parameter', async () => {
    for (const canonical of intensional) {
      await expect(search('Condition', { 'code:in': canonical })).rejects.toMatchObject({
        code: 'ERR_INVALID_INPUT',
        details: { parameter: 'code:in' },
      });
    }
  });

  it('leaves them out and reports them under lenient handling', async () => {
    const found = await search('Condition', { 'code:in': IS_A_VS, subject: 'Patient/p1' }, 'lenient');
    expect(found.ignored).toEqual(['code:in']);
    expect(found.issues[0]?.reason).toMatch(/terminology server/);
    expect(found.applied).toEqual([['subject', 'Patient/p1']]);
    expect(found.resources).toHaveLength(3);
  });

  it('over HTTP: 400 when strict; an OperationOutcome entry and a self link without it when lenient', async () => {
    const app = createNodeApp();
    app.route(
      '/fhir',
      createFhirRoutes({
        repository: vault.repo,
        software: { name: 'CareLedger', version: 'test' },
        authenticate: createAuthenticator({
          organization: 'Riverside General Hospital',
          devIdentityHeader: true,
        }),
      }),
    );
    const headers = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' };
    const url = `/fhir/Condition?subject=Patient/p1&code:in=${encodeURIComponent(`${SNOMED}?fhir_vs=isa/73211009`)}`;
    const strict = await app.request(url, { headers: { ...headers, prefer: 'handling=strict' } });
    expect(strict.status).toBe(400);
    const outcome400 = (await strict.json()) as { issue: { diagnostics?: string; expression?: string[] }[] };
    expect(JSON.stringify(outcome400)).toContain('code:in');
    const response = await app.request(url, { headers });
    expect(response.status).toBe(200);
    const bundle = (await response.json()) as {
      link: { relation: string; url: string }[];
      entry: { search: { mode: string }; resource: { issue?: { expression: string[] }[] } }[];
    };
    const self = new URL(bundle.link.find((l) => l.relation === 'self')?.url ?? '');
    expect([...self.searchParams.keys()]).toEqual(['subject']);
    const outcome = bundle.entry.find((e) => e.search.mode === 'outcome')?.resource;
    expect(outcome?.issue?.map((i) => i.expression[0])).toEqual(['code:in']);
  });
});
