import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../src/errors/index.js';
import {
  BUILT_IN_PROFILE_PACKAGES,
  type FhirIssue,
  loadFhirDefinitions,
  loadFhirProfiles,
  parseResource,
  validateResource,
} from '../../src/fhir/index.js';

const IPS = 'http://hl7.org/fhir/uv/ips/StructureDefinition';
const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition';

function errorsOf(resource: unknown, profiles?: string[]) {
  return validateResource(resource, profiles === undefined ? {} : { profiles })
    .issues.filter((issue) => issue.severity === 'error')
    .map((issue) => ({ code: issue.code, expression: issue.expression }));
}

const ipsPatient = {
  resourceType: 'Patient',
  meta: { profile: [`${IPS}/Patient-uv-ips`] },
  name: [{ family: 'Doe', given: ['Jane'] }],
  birthDate: '1980-02-29',
};

const ipsAllergy = {
  resourceType: 'AllergyIntolerance',
  meta: { profile: [`${IPS}/AllergyIntolerance-uv-ips`] },
  clinicalStatus: {
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' }],
  },
  code: { coding: [{ system: 'http://snomed.info/sct', code: '91936005' }] },
  patient: { reference: 'Patient/p1' },
};

describe('vendored profiles', () => {
  it('IPS 2.0.0 and the US Core 5.0.1 subset are loaded', () => {
    expect(BUILT_IN_PROFILE_PACKAGES).toEqual(['ips', 'us-core']);
    const urls = loadFhirDefinitions().profiles.urls();
    expect(urls).toContain(`${IPS}/Patient-uv-ips`);
    expect(urls).toContain(`${IPS}/Bundle-uv-ips`);
    expect(urls).toContain(`${IPS}/Composition-uv-ips`);
    expect(urls).toContain(`${US_CORE}/us-core-patient`);
    expect(urls.filter((url) => url.startsWith(IPS))).toHaveLength(27);
    expect(loadFhirDefinitions().profiles.get(`${IPS}/Patient-uv-ips|2.0.0`)?.version).toBe('2.0.0');
    expect(loadFhirDefinitions().profiles.get(`${IPS}/Patient-uv-ips|1.1.0`)).toBeUndefined();
  });
});

describe('validation against a claimed profile (meta.profile)', () => {
  it('accepts an IPS-conformant Patient and AllergyIntolerance', () => {
    expect(errorsOf(ipsPatient)).toEqual([]);
    expect(errorsOf(ipsAllergy)).toEqual([]);
  });

  it('refuses what the base R4 allows but IPS does not: a Patient without birthDate', () => {
    const { birthDate: _dropped, ...withoutBirthDate } = ipsPatient;
    expect(errorsOf({ ...withoutBirthDate, meta: undefined })).toEqual([]);
    expect(errorsOf(withoutBirthDate)).toEqual([{ code: 'required', expression: ['Patient.birthDate'] }]);
  });

  it('refuses an IPS AllergyIntolerance without code', () => {
    const { code: _dropped, ...withoutCode } = ipsAllergy;
    expect(errorsOf(withoutCode)).toEqual([{ code: 'required', expression: ['AllergyIntolerance.code'] }]);
  });

  it('US Core 5.0.1: a Patient needs identifier and gender', () => {
    const patient = {
      resourceType: 'Patient',
      meta: { profile: [`${US_CORE}/us-core-patient`] },
      identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: '999-00-1234' }],
      name: [{ family: 'Doe' }],
      gender: 'female',
    };
    expect(errorsOf(patient)).toEqual([]);
    const { identifier: _i, gender: _g, ...bare } = patient;
    expect(errorsOf(bare)).toEqual([
      { code: 'required', expression: ['Patient.identifier'] },
      { code: 'required', expression: ['Patient.gender'] },
    ]);
  });

  it('an IPS document Bundle needs a conforming Composition and Patient (profile-discriminated slices)', () => {
    const bundle = {
      resourceType: 'Bundle',
      meta: { profile: [`${IPS}/Bundle-uv-ips`] },
      identifier: { system: 'urn:oid:2.16.724.4.8.10.200.10', value: '1' },
      type: 'document',
      timestamp: '2024-05-01T10:30:00Z',
      entry: [
        {
          fullUrl: 'urn:uuid:9afe28dc-7ad5-4e90-b6a6-16123eae98c3',
          resource: { ...ipsPatient, meta: undefined },
        },
        {
          fullUrl: 'urn:uuid:9afe28dc-7ad5-4e90-b6a6-16123eae98c4',
          resource: { ...ipsAllergy, meta: undefined },
        },
      ],
    };
    const errors = validateResource(bundle).issues.filter((issue) => issue.severity === 'error');
    expect(errors).toContainEqual(
      expect.objectContaining({
        code: 'structure',
        expression: ['Bundle.entry'],
        diagnostics: `Slice composition: expected 1..1 Composition(s) conforming to ${IPS}/Composition-uv-ips, found 0`,
      }),
    );
    // The Patient entry conforms to Patient-uv-ips, so its slice is satisfied.
    expect(errors.some((issue) => issue.diagnostics.startsWith('Slice patient'))).toBe(false);
  });

  it('an entry of the slice type that does not conform is named at its element', () => {
    const { birthDate: _dropped, ...patient } = ipsPatient;
    const bundle = {
      resourceType: 'Bundle',
      meta: { profile: [`${IPS}/Bundle-uv-ips`] },
      type: 'collection',
      entry: [{ fullUrl: 'urn:uuid:9afe28dc-7ad5-4e90-b6a6-16123eae98c3', resource: patient }],
    };
    const errors = validateResource(bundle).issues;
    expect(errors).toContainEqual(
      expect.objectContaining({ code: 'required', expression: ['Bundle.entry[0].resource.birthDate'] }),
    );
  });

  it('a Bundle with more slice candidates than are worth checking is refused, not validated for minutes', () => {
    const composition = {
      resourceType: 'Composition',
      status: 'final',
      type: { text: 'summary' },
      date: '2024-05-01',
      author: [{ display: 'A' }],
      title: 'Summary',
    };
    const bundle = {
      resourceType: 'Bundle',
      meta: { profile: [`${IPS}/Bundle-uv-ips`] },
      type: 'collection',
      entry: Array.from({ length: 21 }, (_, i) => ({
        fullUrl: `urn:uuid:9afe28dc-7ad5-4e90-b6a6-16123eae9${String(i).padStart(3, '0')}`,
        resource: composition,
      })),
    };
    const issues = validateResource(bundle).issues;
    expect(issues).toContainEqual(
      expect.objectContaining({ severity: 'error', code: 'too-costly', expression: ['Bundle.entry'] }),
    );
  });

  it('an unknown claimed profile is a warning (not checked), never a silent pass', () => {
    const result = validateResource({
      ...ipsPatient,
      meta: { profile: ['http://example.org/StructureDefinition/x'] },
    });
    expect(result.valid).toBe(true);
    expect(result.issues).toEqual([
      {
        severity: 'warning',
        code: 'not-supported',
        diagnostics:
          'Profile http://example.org/StructureDefinition/x is not loaded on this node, so it was not checked',
        expression: ['Patient.meta.profile[0]'],
      },
    ]);
  });

  it('parseResource refuses a resource that breaks its claimed profile (create, update, transaction)', () => {
    const { birthDate: _dropped, ...withoutBirthDate } = ipsPatient;
    expect(() => parseResource(withoutBirthDate)).toThrow(CareLedgerError);
    expect(parseResource(ipsPatient)).toBe(ipsPatient);
  });
});

describe('validation against an explicit profile ($validate?profile=)', () => {
  const plain = { resourceType: 'Patient', name: [{ family: 'Doe' }] };

  it('checks a profile the resource does not claim', () => {
    expect(errorsOf(plain)).toEqual([]);
    expect(errorsOf(plain, [`${IPS}/Patient-uv-ips`])).toEqual([
      { code: 'required', expression: ['Patient.birthDate'] },
    ]);
  });

  it('an explicit profile that is not loaded is an error', () => {
    const issues: FhirIssue[] = [
      ...validateResource(plain, { profiles: [`${US_CORE}/us-core-condition`] }).issues,
    ];
    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'not-supported',
        diagnostics: `Profile ${US_CORE}/us-core-condition is not loaded on this node`,
        expression: [],
      },
    ]);
  });

  it('a profile of another type is an error', () => {
    expect(errorsOf(plain, [`${IPS}/Condition-uv-ips`])).toEqual([
      { code: 'structure', expression: ['Patient'] },
    ]);
  });
});

describe('loading an operator folder of StructureDefinitions', () => {
  it('adds a profile (e.g. the rest of US Core), then validates against it', () => {
    const folder = mkdtempSync(join(tmpdir(), 'careledger-profiles-'));
    const base = loadFhirDefinitions().profiles.get(`${IPS}/Organization-uv-ips`)?.structureDefinition;
    expect(base).toBeDefined();
    const url = 'http://example.org/fhir/StructureDefinition/org-with-name';
    const snapshot = (base?.snapshot?.element ?? []).map((element) =>
      element.path === 'Organization.name' ? { ...element, min: 1 } : element,
    );
    writeFileSync(
      join(folder, 'StructureDefinition-org-with-name.json'),
      JSON.stringify({
        ...base,
        id: 'org-with-name',
        url,
        version: '1.0.0',
        name: 'OrgWithName',
        snapshot: { element: snapshot },
      }),
    );
    writeFileSync(join(folder, 'package.json'), '{"name":"example"}');
    expect(loadFhirProfiles(folder)).toEqual([url]);
    const organization = {
      resourceType: 'Organization',
      meta: { profile: [url] },
      identifier: [{ value: '1' }],
    };
    expect(errorsOf(organization)).toContainEqual({ code: 'required', expression: ['Organization.name'] });
    expect(errorsOf({ ...organization, name: 'Clinic' })).toEqual([]);
  });

  it('refuses a folder that is not there, with ERR_CONFIG', () => {
    expect(() => loadFhirProfiles(join(tmpdir(), 'careledger-no-such-folder'))).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG' }),
    );
  });
});
