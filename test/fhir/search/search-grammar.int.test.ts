/**
 * The R4 search grammar over a real vault (SQLite, envelope encryption, transparency log): chained
 * and reverse-chained parameters, composites, modifiers, `_include:iterate`, `_sort`, `_summary`,
 * `_elements`, `_total`, `_contained`, and strict/lenient handling of what cannot be honoured, over
 * HTTP in-process as well.
 */
import type { Encounter, Observation, Organization, Patient, Resource } from '@medplum/fhirtypes';
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
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const VITALS = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
};

let vault: TestVault;
let acme: Organization;
let other: Organization;
let smith: Patient;
let jones: Patient;
let lonely: Patient;
const observations: Record<string, Observation> = {};
let inpatient: Encounter;
let acute: Encounter;
let ambulatory: Encounter;

async function create<T extends Resource>(resource: T): Promise<T> {
  return (await vault.repo.create(resource, clinician)) as T;
}

function bloodPressure(patient: Patient, systolic: number, diastolic: number, date: string): Observation {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [VITALS],
    code: { coding: [{ system: LOINC, code: '85354-9' }] },
    subject: { reference: `Patient/${patient.id}` },
    effectiveDateTime: date,
    component: [
      {
        code: { coding: [{ system: LOINC, code: '8480-6' }] },
        valueQuantity: { value: systolic, unit: 'mmHg' },
      },
      {
        code: { coding: [{ system: LOINC, code: '8462-4' }] },
        valueQuantity: { value: diastolic, unit: 'mmHg' },
      },
    ],
  };
}

async function search(
  type: string,
  query: Record<string, string> | [string, string][],
  handling: 'strict' | 'lenient' = 'strict',
) {
  return vault.repo.search(type, new URLSearchParams(query), clinician, { handling });
}

const ids = (resources: readonly Resource[]) => resources.map((r) => `${r.resourceType}/${r.id}`).sort();

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000aa');
  acme = await create<Organization>({ resourceType: 'Organization', name: 'Acme Clinic' });
  other = await create<Organization>({ resourceType: 'Organization', name: 'Other Hospital' });
  smith = await create<Patient>({
    resourceType: 'Patient',
    text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Ann Smith</div>' },
    name: [{ family: 'Smith', given: ['Ann'] }],
    birthDate: '1970-01-01',
    gender: 'female',
    photo: [{ contentType: 'image/png', data: 'AAAA' }],
    identifier: [
      {
        type: { coding: [{ system: V2_0203, code: 'MR' }] },
        system: 'http://acme.example/mrn',
        value: 'A-1',
      },
      { type: { coding: [{ system: V2_0203, code: 'DL' }] }, system: 'http://dmv.example', value: 'A-2' },
    ],
    managingOrganization: { reference: `Organization/${acme.id}` },
  });
  jones = await create<Patient>({
    resourceType: 'Patient',
    name: [{ family: 'Jones', given: ['Bob'] }],
    birthDate: '1980-05-05',
    identifier: [
      { type: { coding: [{ system: V2_0203, code: 'DL' }] }, system: 'http://dmv.example', value: 'A-1' },
    ],
    managingOrganization: { reference: `Organization/${other.id}` },
  });
  lonely = await create<Patient>({ resourceType: 'Patient', name: [{ family: 'Lonely' }] });
  observations.smithHigh = await create(bloodPressure(smith, 150, 95, '2026-01-01'));
  observations.smithLow = await create(bloodPressure(smith, 110, 70, '2026-02-01'));
  observations.jonesNormal = await create(bloodPressure(jones, 120, 80, '2026-03-01'));
  observations.byIdentifier = await create<Observation>({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code: '29463-7' }] },
    subject: { identifier: { system: 'http://acme.example/mrn', value: 'A-1' }, display: 'by MRN' },
    valueQuantity: { value: 70, unit: 'kg' },
  });
  const encounter = (code: string): Encounter => ({
    resourceType: 'Encounter',
    status: 'finished',
    class: { system: ACT_CODE, code },
    subject: { reference: `Patient/${smith.id}` },
  });
  inpatient = await create(encounter('IMP'));
  acute = await create(encounter('ACUTE'));
  ambulatory = await create(encounter('AMB'));
}, 120_000);

afterAll(() => vault?.close());

describe('chained parameters (R4 §3.1.1.4.13)', () => {
  it('select by a property of the referenced resource, with or without a type, over several levels', async () => {
    const smiths = await search('Observation', { 'subject.name': 'smith' });
    expect(ids(smiths.resources)).toEqual(
      ids([observations.smithHigh, observations.smithLow] as Observation[]),
    );
    const typed = await search('Observation', { 'subject:Patient.family': 'Jones' });
    expect(ids(typed.resources)).toEqual(ids([observations.jonesNormal as Observation]));
    const deep = await search('Observation', { 'subject:Patient.organization.name': 'Acme' });
    expect(ids(deep.resources)).toEqual(
      ids([observations.smithHigh, observations.smithLow] as Observation[]),
    );
    expect((await search('Observation', { 'subject.name': 'nobody' })).resources).toEqual([]);
  });

  it('combine with other parameters and refuse (strict) a chain through a non-reference', async () => {
    const found = await search('Observation', {
      'subject.name': 'smith',
      'component-code-value-quantity': `${LOINC}|8480-6$gt130`,
    });
    expect(ids(found.resources)).toEqual(ids([observations.smithHigh as Observation]));
    await expect(search('Observation', { 'status.name': 'x' })).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { parameter: 'status.name' },
    });
  });
});

describe('reverse chaining _has (R4 §3.1.1.4.14)', () => {
  it('selects patients by the observations that point at them', async () => {
    const found = await search('Patient', {
      '_has:Observation:subject:component-code-value-quantity': `${LOINC}|8480-6$gt140`,
    });
    expect(ids(found.resources)).toEqual(ids([smith]));
    const any = await search('Patient', { '_has:Observation:patient:code': `${LOINC}|85354-9` });
    expect(ids(any.resources)).toEqual(ids([smith, jones]));
    const organizations = await search('Organization', {
      '_has:Patient:organization:_has:Observation:patient:code': `${LOINC}|85354-9`,
    });
    expect(ids(organizations.resources)).toEqual(ids([acme, other]));
    expect((await search('Patient', { '_has:Observation:patient:code': 'none' })).resources).toEqual([]);
  });
});

describe('composite parameters (R4 §3.1.1.4.11)', () => {
  it('match both parts within the same component', async () => {
    const high = await search('Observation', { 'component-code-value-quantity': `${LOINC}|8480-6$gt130` });
    expect(ids(high.resources)).toEqual(ids([observations.smithHigh as Observation]));
    // 95 is the diastolic value of smithHigh: the systolic code with 95 must not match across components.
    const crossed = await search('Observation', { 'component-code-value-quantity': `${LOINC}|8480-6$95` });
    expect(crossed.resources).toEqual([]);
    const weight = await search('Observation', { 'code-value-quantity': `${LOINC}|29463-7$ge70` });
    expect(ids(weight.resources)).toEqual(ids([observations.byIdentifier as Observation]));
    await expect(search('Observation', { 'code-value-quantity': `${LOINC}|29463-7` })).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });
});

describe('modifiers (R4 §3.1.1.5)', () => {
  it(':of-type matches the identifier type and value together', async () => {
    const found = await search('Patient', { 'identifier:of-type': `${V2_0203}|MR|A-1` });
    expect(ids(found.resources)).toEqual(ids([smith]));
    const dl = await search('Patient', { 'identifier:of-type': `${V2_0203}|DL|A-1` });
    expect(ids(dl.resources)).toEqual(ids([jones]));
  });

  it(':identifier matches a logical reference', async () => {
    const found = await search('Observation', { 'subject:identifier': 'http://acme.example/mrn|A-1' });
    expect(ids(found.resources)).toEqual(ids([observations.byIdentifier as Observation]));
  });

  it(':in and :not-in expand an R4 ValueSet', async () => {
    const vs = 'http://hl7.org/fhir/ValueSet/observation-category';
    const inSet = await search('Observation', { 'category:in': vs });
    expect(inSet.resources).toHaveLength(3);
    const notIn = await search('Observation', { 'category:not-in': vs });
    expect(ids(notIn.resources)).toEqual(ids([observations.byIdentifier as Observation]));
    await expect(
      search('Observation', { 'category:in': 'http://example.org/no-such-vs' }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });

  it(':below and :above follow the code system hierarchy', async () => {
    const below = await search('Encounter', { 'class:below': `${ACT_CODE}|IMP` });
    expect(ids(below.resources)).toEqual(ids([inpatient, acute]));
    const above = await search('Encounter', { 'class:above': `${ACT_CODE}|ACUTE` });
    expect(ids(above.resources)).toEqual(ids([inpatient, acute]));
    const amb = await search('Encounter', { 'class:below': `${ACT_CODE}|AMB` });
    expect(ids(amb.resources)).toEqual(ids([ambulatory]));
  });

  it(':missing, :exact, :contains, :text and :not still hold', async () => {
    expect(ids((await search('Patient', { 'birthdate:missing': 'true' })).resources)).toEqual(ids([lonely]));
    expect(ids((await search('Patient', { 'family:exact': 'Smith' })).resources)).toEqual(ids([smith]));
    expect((await search('Patient', { 'family:exact': 'smith' })).resources).toEqual([]);
    expect(ids((await search('Patient', { 'family:contains': 'mit' })).resources)).toEqual(ids([smith]));
    expect((await search('Observation', { 'code:not': `${LOINC}|85354-9` })).resources).toHaveLength(1);
  });
});

describe('_include and _revinclude', () => {
  it(':iterate follows references of what was included, and * includes through every reference', async () => {
    const found = await search('Observation', [
      ['_id', observations.jonesNormal?.id as string],
      ['_include', 'Observation:subject'],
      ['_include:iterate', 'Patient:organization'],
    ]);
    expect(ids(found.included)).toEqual(ids([jones, other]));
    const wildcard = await search('Patient', [
      ['_id', smith.id as string],
      ['_include', 'Patient:*'],
    ]);
    expect(ids(wildcard.included)).toEqual(ids([acme]));
    const reverse = await search('Organization', [
      ['_id', acme.id as string],
      ['_revinclude', 'Patient:organization'],
      ['_revinclude:iterate', 'Observation:subject'],
    ]);
    expect(ids(reverse.included)).toEqual(
      ids([smith, observations.smithHigh, observations.smithLow] as Resource[]),
    );
  });
});

describe('_sort, _total, _summary and _elements', () => {
  it('_sort on any parameter, descending with -', async () => {
    const byDate = await search('Observation', { code: `${LOINC}|85354-9`, _sort: '-date' });
    expect(byDate.resources.map((r) => r.id)).toEqual(
      [observations.jonesNormal, observations.smithLow, observations.smithHigh].map((o) => o?.id),
    );
    const byFamily = await search('Patient', { _sort: 'family' });
    expect(byFamily.resources.map((r) => (r as Patient).name?.[0]?.family)).toEqual([
      'Jones',
      'Lonely',
      'Smith',
    ]);
  });

  it('_total and _summary=count', async () => {
    expect((await search('Patient', { _total: 'accurate', _count: '1' })).total).toBe(3);
    const count = await search('Patient', { _summary: 'count' });
    expect(count).toMatchObject({ total: 3, resources: [] });
  });

  it('_summary=true keeps the summary elements, text the narrative, data all but the narrative', async () => {
    const [summary] = (await search('Patient', { _id: smith.id as string, _summary: 'true' }))
      .resources as Patient[];
    expect(summary?.name?.[0]?.family).toBe('Smith');
    expect(summary?.photo).toBeUndefined();
    expect(summary?.text).toBeUndefined();
    expect(summary?.meta?.tag).toContainEqual(expect.objectContaining({ code: 'SUBSETTED' }));
    const [text] = (await search('Patient', { _id: smith.id as string, _summary: 'text' }))
      .resources as Patient[];
    expect(text?.text?.div).toContain('Ann Smith');
    expect(text?.name).toBeUndefined();
    const [data] = (await search('Patient', { _id: smith.id as string, _summary: 'data' }))
      .resources as Patient[];
    expect(data?.text).toBeUndefined();
    expect(data?.photo).toHaveLength(1);
  });

  it('_elements returns the named elements, id and meta, tagged SUBSETTED', async () => {
    const [patient] = (await search('Patient', { _id: smith.id as string, _elements: 'birthDate' }))
      .resources;
    expect(Object.keys(patient ?? {}).sort()).toEqual(['birthDate', 'id', 'meta', 'resourceType']);
    const [observation] = (
      await search('Observation', { _id: observations.byIdentifier?.id as string, _elements: 'value' })
    ).resources as Observation[];
    expect(observation?.valueQuantity?.value).toBe(70);
    expect(observation?.status).toBe('final'); // mandatory
    expect(observation?.code).toBeDefined(); // mandatory
    expect(observation?.subject).toBeUndefined();
  });
});

describe('what cannot be honoured (R4 §3.1.1.4)', () => {
  it('is refused under strict handling and reported, out of the self link, under lenient', async () => {
    await expect(search('Patient', { _filter: 'family eq Smith' })).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    const lenient = await search(
      'Patient',
      { _filter: 'family eq Smith', family: 'Smith', 'subject.colour': 'x' },
      'lenient',
    );
    expect(lenient.ignored).toEqual(['_filter', 'subject.colour']);
    expect(lenient.applied).toEqual([['family', 'Smith']]);
    // A chain whose inner parameter is unknown is ignored as a whole, not applied half.
    const inner = await search('Observation', { 'subject.colour': 'x' }, 'lenient');
    expect(inner.ignored).toEqual(['subject.colour']);
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
    const strict = await app.request('/fhir/Patient?family=Smith&_filter=family%20eq%20Smith', {
      headers: { ...headers, prefer: 'handling=strict' },
    });
    expect(strict.status).toBe(400);
    const response = await app.request(
      '/fhir/Patient?family=Smith&_filter=family%20eq%20Smith&_has:Observation:patient:colour=1',
      { headers },
    );
    expect(response.status).toBe(200);
    const bundle = (await response.json()) as {
      link: { relation: string; url: string }[];
      entry: {
        search: { mode: string };
        resource: { resourceType: string; issue?: { expression: string[] }[] };
      }[];
    };
    const self = new URL(bundle.link.find((l) => l.relation === 'self')?.url ?? '');
    expect([...self.searchParams.keys()]).toEqual(['family']);
    const outcome = bundle.entry.find((e) => e.search.mode === 'outcome')?.resource;
    expect(outcome?.issue?.map((i) => i.expression[0])).toEqual([
      '_filter',
      '_has:Observation:patient:colour',
    ]);
    expect(bundle.entry.filter((e) => e.search.mode === 'match')).toHaveLength(1);
    const posted = await app.request('/fhir/Patient/_search', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'subject.name=x&family=Jones',
    });
    expect(posted.status).toBe(200);
    const postedBundle = (await posted.json()) as { entry: { search: { mode: string } }[] };
    expect(postedBundle.entry.filter((e) => e.search.mode === 'match')).toHaveLength(1);
  });
});
