// biome-ignore-all lint/suspicious/noExplicitAny: the test reads untyped FHIR JSON output
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYNTHEA_DIR } from '../../test/support/shared-data.js';
import {
  AGE_GROUP_EXTENSION_URL,
  deidentifyResource,
  type FhirResource,
  generalizePostalCode,
  rewriteReference,
} from './deidentify-resource.js';
import { createQuasiIdentifiedRecord } from './k-anonymity.js';
import { parseDeidProfile } from './parse-deid-profile.js';
import { SAFE_HARBOR_PROFILE, SAFE_HARBOR_PROFILE_JSON } from './safe-harbor-profile.js';
import {
  createResourcePseudonym,
  derivePatientShiftDays,
  PSEUDONYM_IDENTIFIER_SYSTEM,
} from './study-pseudonym.js';

// Synthetic Synthea R4 bundle (../shared/data/SOURCE.md); the patient was born in 1932.
const BUNDLE = JSON.parse(
  readFileSync(join(SYNTHEA_DIR, 'Andy_Schaden_d630c6ca-046c-470a-8f3a-4dbc3850e7ae.json'), 'utf8'),
) as { entry: { fullUrl: string; resource: FhirResource }[] };
const TYPES = new Set(['Patient', 'Encounter', 'Observation', 'Condition']);
const RESOURCES = BUNDLE.entry.map((entry) => entry.resource).filter((r) => TYPES.has(r.resourceType));
const PATIENT = RESOURCES.find((r) => r.resourceType === 'Patient') as FhirResource & Record<string, any>;

const STUDY_A = new Uint8Array(32).fill(0xa1);
const STUDY_B = new Uint8Array(32).fill(0xb2);
const AS_OF = new Date('2026-12-07T00:00:00Z');

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) strings(item, out);
  else if (typeof value === 'object' && value !== null)
    for (const item of Object.values(value)) strings(item, out);
  return out;
}

/** Every identifying string of the source: names, street, city, phone, identifiers, ids, narrative. */
function identifyingStrings(): string[] {
  const secrets = [
    ...strings(PATIENT.name),
    ...(PATIENT.address as { line: string[]; city: string }[]).flatMap((a) => [...a.line, a.city]),
    ...strings(PATIENT.telecom),
    ...(PATIENT.identifier as { value: string }[]).map((i) => i.value),
    PATIENT.text.div,
    'Anissa Heidenreich', // patient-mothersMaidenName extension
    PATIENT.birthDate,
    ...BUNDLE.entry.map((e) => e.fullUrl),
    ...RESOURCES.map((r) => String(r.id)),
  ];
  return secrets.filter((s) => s.length > 2 && !['official', 'home', 'phone', 'Mr.'].includes(s));
}

describe('deidentifyResource with the Safe Harbor profile over a Synthea bundle', () => {
  const released = RESOURCES.map((r) =>
    deidentifyResource(r, SAFE_HARBOR_PROFILE, { studyKey: STUDY_A, asOf: AS_OF }),
  );
  const releasedText = JSON.stringify(released);

  it('leaves no name, street, city, phone, SSN, MRN, id or narrative', () => {
    expect(RESOURCES.length).toBeGreaterThan(150);
    for (const secret of identifyingStrings()) expect(releasedText).not.toContain(secret);
    expect(releasedText).not.toContain('<div');
    expect(releasedText).not.toContain('999-');
  });

  it('leaves no date finer than a year', () => {
    const finer = strings(released).filter((s) => /^\d{4}-\d{2}/.test(s) && !/^[0-9a-f]{8}-/.test(s));
    expect(finer).toEqual([]);
    const encounter = released.find((r) => r.resourceType === 'Encounter') as Record<string, any>;
    expect(encounter.period).toEqual({ start: '1978', end: '1978' });
  });

  it('groups a patient over 89 as 90+ and generalises the address to state and ZIP3', () => {
    const patient = released[RESOURCES.indexOf(PATIENT)] as Record<string, any>;
    expect(patient.birthDate).toBeUndefined();
    expect(patient._birthDate.extension).toContainEqual({ url: AGE_GROUP_EXTENSION_URL, valueString: '90+' });
    expect(patient.address).toEqual([{ state: 'Massachusetts', country: 'US', postalCode: '018' }]);
    expect(patient.name).toBeUndefined();
    expect(patient.telecom).toBeUndefined();
    expect(patient.gender).toBe('male');
    expect(createQuasiIdentifiedRecord(patient)).toMatchObject({
      birthYear: '90+',
      sex: 'male',
      zip3: '018',
    });
    // Coded race is kept, its free text and non-kept extensions are not.
    const race = patient.extension.find((e: { url: string }) => e.url.endsWith('us-core-race'));
    expect(race.extension[0].valueCoding.code).toBe('2028-9');
    expect(patient.extension.map((e: { url: string }) => e.url)).not.toContain(
      'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
    );
  });

  it('keeps a younger birth date as its year', () => {
    const young = { resourceType: 'Patient', id: 'p1', birthDate: '1980-03-04', gender: 'female' };
    const out = deidentifyResource(young, SAFE_HARBOR_PROFILE, { studyKey: STUDY_A, asOf: AS_OF });
    expect(out).toMatchObject({ birthDate: '1980', gender: 'female' });
  });

  it('rewrites references to the pseudonym of the target, stable within a study', () => {
    const patient = released[RESOURCES.indexOf(PATIENT)] as Record<string, any>;
    const encounters = released.filter((r) => r.resourceType === 'Encounter') as Record<string, any>[];
    for (const encounter of encounters)
      expect(encounter.subject).toEqual({ reference: `urn:uuid:${patient.id}` });
    const observation = released.find((r) => r.resourceType === 'Observation') as Record<string, any>;
    const encounterIds = new Set(encounters.map((e) => `urn:uuid:${e.id}`));
    expect(encounterIds.has(observation.encounter.reference)).toBe(true);
  });

  it('replaces identifiers with keyed pseudonyms that link within a study and not across studies', () => {
    const inA = deidentifyResource(PATIENT, SAFE_HARBOR_PROFILE, { studyKey: STUDY_A, asOf: AS_OF }) as any;
    // Another member holding the same patient under another local id, with the same SSN.
    const elsewhere = { ...PATIENT, id: 'local-42' };
    const inAElsewhere = deidentifyResource(elsewhere, SAFE_HARBOR_PROFILE, {
      studyKey: STUDY_A,
      asOf: AS_OF,
    }) as any;
    const inB = deidentifyResource(PATIENT, SAFE_HARBOR_PROFILE, { studyKey: STUDY_B, asOf: AS_OF }) as any;
    const ssn = (p: any) => p.identifier.find((i: any) => i.type?.coding?.[0]?.code === 'SS');
    expect(ssn(inA).system).toBe(PSEUDONYM_IDENTIFIER_SYSTEM);
    expect(ssn(inA).value).toMatch(/^[0-9a-f]{64}$/);
    expect(ssn(inAElsewhere).value).toBe(ssn(inA).value);
    expect(ssn(inB).value).not.toBe(ssn(inA).value);
    expect(inB.id).not.toBe(inA.id);
    expect(deidentifyResource(PATIENT, SAFE_HARBOR_PROFILE, { studyKey: STUDY_A, asOf: AS_OF })).toEqual(inA);
  });

  it('keeps code-system displays and removes free text', () => {
    const condition = released.find((r) => r.resourceType === 'Condition') as Record<string, any>;
    expect(condition.code.coding[0].display).toEqual(expect.any(String));
    expect(condition.code.text).toBeUndefined();
    const uncoded = {
      resourceType: 'Observation',
      id: 'o1',
      code: { coding: [{ code: 'x', display: 'typed by a clerk' }], text: 'Bob Smith note' },
      note: [{ text: 'patient lives at 12 Elm St' }],
      valueString: 'Bob Smith',
      performer: [{ reference: 'Practitioner/9', display: 'Dr. Jane Roe' }],
      presentedForm: [{ contentType: 'image/jpeg', data: 'AAAA' }],
    };
    const out = deidentifyResource(uncoded, SAFE_HARBOR_PROFILE, { studyKey: STUDY_A, asOf: AS_OF });
    const text = JSON.stringify(out);
    for (const s of ['clerk', 'Bob', 'Elm', 'Jane', 'AAAA']) expect(text).not.toContain(s);
    expect((out as any).performer[0].reference).toMatch(/^Practitioner\/[0-9a-f-]{36}$/);
  });

  it('de-identifies contained resources by their own type', () => {
    const eob = {
      resourceType: 'ExplanationOfBenefit',
      id: 'e1',
      contained: [
        { resourceType: 'Patient', id: 'pt', birthDate: '1920-01-02', name: [{ family: 'Doe' }] },
        {
          resourceType: 'Coverage',
          id: 'coverage',
          type: { text: 'Acme plan of John Doe' },
          subscriberId: 'AC-991',
        },
      ],
      patient: { reference: '#pt' },
    };
    const out = deidentifyResource(eob, SAFE_HARBOR_PROFILE, { studyKey: STUDY_A, asOf: AS_OF }) as any;
    expect(out.contained[0]).toMatchObject({ resourceType: 'Patient', id: 'pt' });
    expect(out.contained[0].birthDate).toBeUndefined();
    expect(out.contained[0]._birthDate.extension[1].valueString).toBe('90+');
    expect(out.contained[1].subscriberId).toMatch(/^[0-9a-f]{64}$/);
    expect(out.patient).toEqual({ reference: '#pt' });
    expect(JSON.stringify(out)).not.toMatch(/Doe|Acme|AC-991|1920/);
  });

  it('removes free text at any depth', () => {
    const carePlan = {
      resourceType: 'CarePlan',
      id: 'c1',
      activity: [{ detail: { description: 'visit Mrs Doe at home', status: 'scheduled' } }],
    };
    const answers = {
      resourceType: 'QuestionnaireResponse',
      id: 'q1',
      item: [{ linkId: '1', answer: [{ valueString: 'my neighbour Tom' }, { valueInteger: 3 }] }],
    };
    const outPlan = deidentifyResource(carePlan, SAFE_HARBOR_PROFILE, {
      studyKey: STUDY_A,
      asOf: AS_OF,
    }) as any;
    expect(outPlan.activity).toEqual([{ detail: { status: 'scheduled' } }]);
    const outAnswers = deidentifyResource(answers, SAFE_HARBOR_PROFILE, {
      studyKey: STUDY_A,
      asOf: AS_OF,
    }) as any;
    expect(outAnswers.item).toEqual([{ linkId: '1', answer: [{ valueInteger: 3 }] }]);
  });

  it('rewrites relative, versioned, absolute and urn:uuid references to the same pseudonym', () => {
    const id = createResourcePseudonym(STUDY_A, '123');
    expect(rewriteReference('Patient/123', STUDY_A)).toBe(`Patient/${id}`);
    expect(rewriteReference('Patient/123/_history/2', STUDY_A)).toBe(`Patient/${id}`);
    expect(rewriteReference('https://member-b.example/fhir/Patient/123', STUDY_A)).toBe(`Patient/${id}`);
    expect(rewriteReference('urn:uuid:123', STUDY_A)).toBe(`urn:uuid:${id}`);
    expect(rewriteReference('#contained-1', STUDY_A)).toBe('#contained-1');
    expect(createResourcePseudonym(STUDY_B, '123')).not.toBe(id);
  });

  it('still applies type rules inside an extension a profile keeps', () => {
    const maiden = 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName';
    const profile = parseDeidProfile({ ...SAFE_HARBOR_PROFILE_JSON, keepExtensions: [maiden] });
    const out = deidentifyResource(PATIENT, profile, { studyKey: STUDY_A, asOf: AS_OF });
    expect(JSON.stringify(out)).not.toContain('Heidenreich');
  });

  it('does not modify its input', () => {
    const before = structuredClone(PATIENT);
    deidentifyResource(PATIENT, SAFE_HARBOR_PROFILE, { studyKey: STUDY_A, asOf: AS_OF });
    expect(PATIENT).toEqual(before);
  });

  it('refuses a short study key', () => {
    expect(() => deidentifyResource(PATIENT, SAFE_HARBOR_PROFILE, { studyKey: new Uint8Array(16) })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_INPUT' }),
    );
  });
});

describe('generalizePostalCode', () => {
  it('keeps 3 digits, and 000 for the 17 restricted prefixes', () => {
    expect(generalizePostalCode('01801')).toBe('018');
    expect(generalizePostalCode('02139-4307')).toBe('021');
    expect(generalizePostalCode('03601')).toBe('000');
    expect(generalizePostalCode('89301')).toBe('000');
    expect(generalizePostalCode('SW1A 1AA')).toBeUndefined();
  });
});

describe('dateShift profiles', () => {
  const shiftProfile = parseDeidProfile({
    ...SAFE_HARBOR_PROFILE_JSON,
    fhirPathRules: SAFE_HARBOR_PROFILE_JSON.fhirPathRules.map((rule) =>
      rule.method === 'keepYear' ? { ...rule, method: 'dateShift' } : rule,
    ),
  });
  const encounter = RESOURCES.find((r) => r.resourceType === 'Encounter') as FhirResource;

  it('shifts every date of a patient by the same keyed number of days', () => {
    const days = derivePatientShiftDays(STUDY_A, String(PATIENT.id));
    expect(Math.abs(days)).toBeGreaterThan(0);
    expect(Math.abs(days)).toBeLessThanOrEqual(365);
    const out = deidentifyResource(encounter, shiftProfile, {
      studyKey: STUDY_A,
      patientShiftDays: 10,
    }) as any;
    expect(out.period).toEqual({ start: '1978-07-09T06:29:54.000Z', end: '1978-07-09T06:59:54.000Z' });
  });

  it('refuses to run without a shift', () => {
    expect(() => deidentifyResource(encounter, shiftProfile, { studyKey: STUDY_A })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_INPUT' }),
    );
  });
});
