import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  loadSearchParameters,
  matchesSearch,
  parseDateRange,
  planSearch,
  sortResources,
} from '../../../src/fhir/search/index.js';

/**
 * Each case pins two answers: what FHIR R4 §3.1.1 says (our matcher must give it) and what Medplum
 * 4.5.2's matchesSearchRequest gives. Where they differ, the case documents a Medplum gap that
 * matchesSearch fixes; if a Medplum upgrade changes an answer, this test says which.
 */
type Case = [
  label: string,
  resource: Resource,
  query: Record<string, string>,
  spec: boolean,
  medplum: boolean | 'rejects the query',
];

const NOW = Date.UTC(2025, 0, 1);
const identity = (value: string): string => value;

function ours(resource: Resource, query: Record<string, string>): boolean {
  return matchesSearch(
    resource,
    planSearch(resource.resourceType, query, identity, { handling: 'strict', now: NOW }),
  );
}

function medplum(resource: Resource, query: Record<string, string>): boolean | 'rejects the query' {
  let request: ReturnType<typeof parseSearchRequest>;
  try {
    request = parseSearchRequest(resource.resourceType, query);
  } catch {
    return 'rejects the query';
  }
  return matchesSearchRequest(resource, request);
}

function observation(effective: Partial<Observation>, extra: Partial<Observation> = {}): Observation {
  return {
    resourceType: 'Observation',
    id: 'o',
    status: 'final',
    code: { text: 'x' },
    ...effective,
    ...extra,
  };
}

const at = (effectiveDateTime: string) => observation({ effectiveDateTime });
const during = (start: string | undefined, end: string | undefined) =>
  observation({ effectivePeriod: { ...(start ? { start } : {}), ...(end ? { end } : {}) } });

// The search value 2023-01-15 denotes [2023-01-15T00:00Z, 2023-01-16T00:00Z).
const inside = at('2023-01-15T10:00:00Z');
const before = at('2023-01-14T10:00:00Z');
const after = at('2023-01-16T10:00:00Z');
const straddlesStart = during('2023-01-14T20:00:00Z', '2023-01-15T10:00:00Z');
const straddlesEnd = during('2023-01-15T10:00:00Z', '2023-01-16T10:00:00Z');
const containsDay = during('2023-01-01', '2023-01-31');
const openEnded = during('2023-01-10', undefined);
const farBefore = at('2021-06-01T00:00:00Z');

const targets: [string, Observation][] = [
  ['inside', inside],
  ['before', before],
  ['after', after],
  ['straddlesStart', straddlesStart],
  ['straddlesEnd', straddlesEnd],
  ['containsDay', containsDay],
  ['openEnded', openEnded],
  ['farBefore', farBefore],
];

// R4 §3.1.1.4.2 answers, in the order of `targets`, then Medplum's where it differs.
const datePrefixes: [prefix: string, spec: string, medplum: string][] = [
  ['eq', '10000000', '10011110'],
  ['ne', '01111111', '01100001'],
  ['gt', '00101110', '00101110'],
  ['lt', '01010111', '01010111'],
  ['ge', '10101110', '10111110'],
  ['le', '11010111', '11011111'],
  ['sa', '00100000', '00100000'],
  ['eb', '01000001', '01000001'],
  // ap: the search range widened by 10% of its distance from now (~72 days) overlaps the target.
  ['ap', '11111110', '10011110'],
];

const dateCases: Case[] = datePrefixes.flatMap(([prefix, spec, medplumAnswers]) =>
  targets.map(
    ([name, resource], i): Case => [
      `date=${prefix}2023-01-15 vs ${name}`,
      resource,
      { date: `${prefix}2023-01-15` },
      spec[i] === '1',
      medplumAnswers[i] === '1',
    ],
  ),
);

const patient: Patient = {
  resourceType: 'Patient',
  id: 'p1',
  meta: { profile: ['http://example.org/StructureDefinition/patient-extra'] },
  name: [{ family: 'Kshlerin', given: ['Dannie Élodie'] }],
  gender: 'male',
  identifier: [{ system: 'http://hospital.example.org', value: 'MRN-1' }],
  generalPractitioner: [{ reference: 'https://fhir.example.org/r4/Practitioner/doc-1/_history/3' }],
};

const height = observation(
  { effectiveDateTime: '2012-01-05T06:29:54+00:00' },
  {
    code: {
      coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body Height' }],
      text: 'Body Height',
    },
    subject: { reference: 'Patient/p1' },
    valueQuantity: { value: 167.55874767731933, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
  },
);

const otherCases: Case[] = [
  // month ends: Medplum fills `YYYY-MM` with day 31, so February ends on 3 March and April on 1 May.
  ['date=eq2023-02 vs 2023-03-02', at('2023-03-02T10:00:00Z'), { date: 'eq2023-02' }, false, true],
  ['date=sa2023-04 vs 2023-05-01', at('2023-05-01T10:00:00Z'), { date: 'sa2023-04' }, true, false],
  ['date=gt2023-04 vs 2023-05-01', at('2023-05-01T10:00:00Z'), { date: 'gt2023-04' }, true, false],
  [
    'date=2023-01-15 vs 23:30-05:00 (next day in UTC)',
    at('2023-01-15T23:30:00-05:00'),
    { date: '2023-01-15' },
    false,
    false,
  ],
  ['date=2012 vs Synthea +00:00', height, { date: '2012' }, true, true],
  ['comma dates ORed (R4 §3.1.1.5.5)', inside, { date: '2020,2023-01-15' }, true, 'rejects the query'],
  // strings: starts-with (of the value or a word), accent- and case-insensitive
  ['family=ksh', patient, { family: 'ksh' }, true, true],
  ['family=hler (middle of a word)', patient, { family: 'hler' }, false, true],
  ['given=elodie (accent-insensitive, second word)', patient, { given: 'elodie' }, true, false],
  ['name=ÉLODIE (accents on both sides)', patient, { name: 'ÉLODIE' }, true, true],
  ['given=ELODIE', patient, { given: 'ELODIE' }, true, false],
  ['family:exact=Kshlerin', patient, { 'family:exact': 'Kshlerin' }, true, true],
  ['family:exact=kshlerin (case-sensitive)', patient, { 'family:exact': 'kshlerin' }, false, true],
  ['family:exact=Kshl (whole value)', patient, { 'family:exact': 'Kshl' }, false, true],
  ['family:contains=hler', patient, { 'family:contains': 'hler' }, true, true],
  ["name=Robert'); DROP TABLE--", patient, { name: "Robert'); DROP TABLE--" }, false, false],
  // tokens
  ['code=8302-2', height, { code: '8302-2' }, true, true],
  ['code=http://loinc.org|8302-2', height, { code: 'http://loinc.org|8302-2' }, true, true],
  ['code=http://loinc.org|', height, { code: 'http://loinc.org|' }, true, true],
  ['code=|8302-2 (requires no system)', height, { code: '|8302-2' }, false, false],
  ['code=http://snomed.info/sct|8302-2', height, { code: 'http://snomed.info/sct|8302-2' }, false, false],
  ['code=Body Height (text is no code)', height, { code: 'Body Height' }, false, true],
  ['code:text=body', height, { 'code:text': 'body' }, true, false],
  ['code:not=8302-2', height, { 'code:not': '8302-2' }, false, false],
  ['code:not=1234-5', height, { 'code:not': '1234-5' }, true, true],
  [
    'identifier=http://hospital.example.org|mrn-1',
    patient,
    { identifier: 'http://hospital.example.org|mrn-1' },
    true,
    true,
  ],
  ['gender=male', patient, { gender: 'male' }, true, true],
  // references
  ['subject=Patient/p1', height, { subject: 'Patient/p1' }, true, true],
  ['subject=p1 (id only)', height, { subject: 'p1' }, true, false],
  ['subject:Patient=p1', height, { 'subject:Patient': 'p1' }, true, false],
  ['subject=absolute URL', height, { subject: 'https://fhir.example.org/r4/Patient/p1' }, true, false],
  [
    'general-practitioner=Practitioner/doc-1 vs versioned absolute',
    patient,
    { 'general-practitioner': 'Practitioner/doc-1' },
    true,
    false,
  ],
  ['subject=Patient/p2', height, { subject: 'Patient/p2' }, false, false],
  // Medplum's FHIRPath resolve() reads "https:" as the type of an absolute reference.
  [
    'patient=Patient/p1 vs absolute subject',
    { ...height, subject: { reference: 'https://fhir.example.org/r4/Patient/p1' } },
    { patient: 'Patient/p1' },
    true,
    false,
  ],
  // uri: exact (R4 §3.1.1.4.13), Medplum matches substrings
  [
    '_profile exact',
    patient,
    { _profile: 'http://example.org/StructureDefinition/patient-extra' },
    true,
    true,
  ],
  [
    '_profile prefix only',
    patient,
    { _profile: 'http://example.org/StructureDefinition/patient' },
    false,
    true,
  ],
  // quantity and number: Medplum's matcher returns false for every quantity filter
  ['value-quantity=gt100', height, { 'value-quantity': 'gt100' }, true, false],
  ['value-quantity=lt100', height, { 'value-quantity': 'lt100' }, false, false],
  [
    'value-quantity=167.6|ucum|cm (implicit range)',
    height,
    { 'value-quantity': '167.6|http://unitsofmeasure.org|cm' },
    true,
    false,
  ],
  ['value-quantity=167.6||mm (unit)', height, { 'value-quantity': '167.6||mm' }, false, false],
  ['value-quantity=ap160', height, { 'value-quantity': 'ap160' }, true, false],
  // presence
  ['subject:missing=false', height, { 'subject:missing': 'false' }, true, true],
  ['subject:missing=true', height, { 'subject:missing': 'true' }, false, false],
  ['_lastUpdated absent', patient, { _lastUpdated: 'ge2020' }, false, false],
];

describe('matchesSearch against R4 §3.1.1, and what Medplum 4.5.2 answers', () => {
  beforeAll(() => {
    loadSearchParameters();
  });

  it.each([...dateCases, ...otherCases])('%s', (_label, resource, query, spec, medplumAnswer) => {
    expect(ours(resource, query)).toBe(spec);
    expect(medplum(resource, query)).toBe(medplumAnswer);
  });

  it('Medplum accepts an impossible date and searches another day instead', () => {
    expect(parseDateRange('2023-02-30')).toBeUndefined();
    const request = parseSearchRequest('Observation', { date: '2023-02-30' });
    expect(matchesSearchRequest(at('2023-03-02T10:00:00Z'), request)).toBe(true);
  });

  it('Medplum turns an unknown modifier into equality and a bad _count into NaN', () => {
    expect(parseSearchRequest('Patient', { 'family:sounds-like': 'x', _count: 'abc' })).toMatchObject({
      filters: [{ code: 'family', operator: 'eq', value: 'x' }],
      count: Number.NaN,
    });
  });
});

describe('parseDateRange', () => {
  it.each([
    ['2023', '2023-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'],
    ['2023-02', '2023-02-01T00:00:00.000Z', '2023-03-01T00:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    ['2023-12-31T23:59', '2023-12-31T23:59:00.000Z', '2024-01-01T00:00:00.000Z'],
    ['2023-01-15T10:00:00+02:00', '2023-01-15T08:00:00.000Z', '2023-01-15T08:00:01.000Z'],
    ['2023-01-15T10:00:00.5Z', '2023-01-15T10:00:00.500Z', '2023-01-15T10:00:00.600Z'],
    ['0050-06', '0050-06-01T00:00:00.000Z', '0050-07-01T00:00:00.000Z'],
  ])('%s is [%s, %s)', (value, start, end) => {
    const range = parseDateRange(value);
    expect(range && new Date(range.start).toISOString()).toBe(start);
    expect(range && new Date(range.end).toISOString()).toBe(end);
  });

  it.each([
    '2023-02-29',
    '2023-04-31',
    '2023-00',
    '2023-1-1',
    '2023-01-01T10',
    '2023-01-01T10:60',
    '0000',
    'today',
  ])('%s is no date', (value) => {
    expect(parseDateRange(value)).toBeUndefined();
  });
});

describe('sortResources', () => {
  const a = {
    ...at('2023-01-02T00:00:00Z'),
    id: 'a',
    status: 'final',
    meta: { lastUpdated: '2024-01-03T00:00:00Z' },
  };
  const b = {
    ...at('2023-01-01T00:00:00Z'),
    id: 'b',
    status: 'amended',
    meta: { lastUpdated: '2024-01-01T00:00:00Z' },
  };
  const c = {
    ...at('2023-01-02T00:00:00Z'),
    id: 'c',
    status: 'amended',
    meta: { lastUpdated: '2024-01-02T00:00:00Z' },
  };
  const none = {
    ...observation({}),
    id: 'none',
    status: 'final',
    meta: { lastUpdated: '2024-01-04T00:00:00Z' },
  };
  const ids = (resources: Resource[]) => resources.map((resource) => resource.id);

  it('ascending and -descending, values missing sort last both ways', () => {
    expect(ids(sortResources([none, a, b, c] as Observation[], [{ code: 'date' }]))).toEqual([
      'b',
      'a',
      'c',
      'none',
    ]);
    expect(
      ids(sortResources([none, a, b, c] as Observation[], [{ code: 'date', descending: true }])),
    ).toEqual(['a', 'c', 'b', 'none']);
  });

  it('later keys break ties; _lastUpdated sorts', () => {
    expect(
      ids(
        sortResources([none, a, b, c] as Observation[], [
          { code: 'date', descending: true },
          { code: 'status' },
        ]),
      ),
    ).toEqual(['c', 'a', 'b', 'none']);
    expect(
      ids(sortResources([none, a, b, c] as Observation[], [{ code: '_lastUpdated', descending: true }])),
    ).toEqual(['none', 'a', 'c', 'b']);
  });

  it('periods: ascending by start, descending by end', () => {
    const early = { ...during('2023-01-01', '2023-12-31'), id: 'early' };
    const late = { ...during('2023-06-01', '2023-07-01'), id: 'late' };
    expect(ids(sortResources([late, early], [{ code: 'date' }]))).toEqual(['early', 'late']);
    expect(ids(sortResources([late, early], [{ code: 'date', descending: true }]))).toEqual([
      'early',
      'late',
    ]);
  });
});
