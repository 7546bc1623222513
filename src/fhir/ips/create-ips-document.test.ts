import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  Bundle,
  Composition,
  CompositionSection,
  Condition,
  Immunization,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { SYNTHEA_DIR } from '../../../test/support/shared-data.js';
import { LEDGER_ADDRESS_SYSTEM } from '../../access/patient-ledger-address.js';
import { rewriteBundleReferences } from '../bundle/index.js';
import { validateResource } from '../validate-resource.js';
import { createIpsDocument } from './create-ips-document.js';

/**
 * A real Synthea patient (two active allergies, active medications, resolved and active conditions,
 * labs, vital signs), as the vault holds it after the import: `Type/id` references.
 */
function loadSynthea(file = 'Twanda_Rippin_28529cd4-05d7-4df6-aa7c-7fb4d7af2e0f.json'): {
  patient: Patient;
  resources: Resource[];
} {
  const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as { entry: unknown[] };
  const resources = rewriteBundleReferences(bundle).entries.map((e) => e.resource as unknown as Resource);
  const patient = resources.find((r): r is Patient => r.resourceType === 'Patient');
  if (patient === undefined) throw new Error('no Patient in the test bundle');
  return { patient, resources };
}

const AUTHOR = { name: 'Solo Clinic', address: '0x00000000000000000000000000000000000000Aa' };
const NOW = new Date('2024-05-06T07:08:09.000Z');

function build(patient: Patient, resources: readonly Resource[]): Bundle {
  let n = 0;
  return createIpsDocument({
    patient,
    resources,
    author: AUTHOR,
    now: () => NOW,
    uuid: () => `00000000-0000-4000-8000-${(n++).toString(16).padStart(12, '0')}`,
  });
}

function composition(bundle: Bundle): Composition {
  return bundle.entry?.[0]?.resource as Composition;
}

function section(bundle: Bundle, loinc: string): CompositionSection | undefined {
  return composition(bundle).section?.find((s) => s.code?.coding?.[0]?.code === loinc);
}

function entriesOf(bundle: Bundle, loinc: string): Resource[] {
  const byUrl = new Map((bundle.entry ?? []).map((e) => [e.fullUrl, e.resource]));
  return (section(bundle, loinc)?.entry ?? []).map((r) => byUrl.get(r.reference) as Resource);
}

function allReferences(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(allReferences);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) =>
    k === 'reference' && typeof v === 'string' ? [v] : allReferences(v),
  );
}

function condition(patient: Patient, text: string, extra: Partial<Condition> = {}): Condition {
  return {
    resourceType: 'Condition',
    id: `c-${text.length}`,
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: { text },
    subject: { reference: `Patient/${patient.id}` },
    ...extra,
  };
}

describe('createIpsDocument', () => {
  const { patient, resources } = loadSynthea();
  const bundle = build(patient, resources);

  it('is a document Bundle whose first entry is the IPS Composition', () => {
    expect(bundle).toMatchObject({
      resourceType: 'Bundle',
      type: 'document',
      timestamp: '2024-05-06T07:08:09.000Z',
      identifier: { system: 'urn:ietf:rfc:3986' },
    });
    expect(bundle.identifier?.value).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const c = composition(bundle);
    const urls = new Map((bundle.entry ?? []).map((e) => [e.fullUrl, e.resource]));
    expect(c).toMatchObject({
      resourceType: 'Composition',
      status: 'final',
      type: {
        coding: [{ system: 'http://loinc.org', code: '60591-5', display: 'Patient summary Document' }],
      },
      title: 'International Patient Summary',
      confidentiality: 'N',
      date: '2024-05-06T07:08:09.000Z',
    });
    expect(urls.get(c.subject?.reference)).toMatchObject({ resourceType: 'Patient', id: patient.id });
    expect(urls.get(c.author?.[0]?.reference)).toEqual({
      resourceType: 'Organization',
      id: expect.any(String),
      identifier: [{ system: LEDGER_ADDRESS_SYSTEM, value: AUTHOR.address }],
      active: true,
      name: 'Solo Clinic',
    });
  });

  it('has the IPS sections in order, each with an escaped XHTML narrative', () => {
    expect(composition(bundle).section?.map((s) => s.code?.coding?.[0]?.code)).toEqual([
      '11450-4',
      '48765-2',
      '10160-0',
      '11369-6',
      '30954-2',
      '8716-3',
      '47519-4',
    ]);
    for (const s of composition(bundle).section ?? []) {
      expect(s.text?.status).toBe('generated');
      expect(s.text?.div).toMatch(/^<div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml">.*<\/div>$/);
      expect(s.emptyReason).toBeUndefined();
    }
  });

  it('keeps current problems, allergies and medications only', () => {
    const problems = entriesOf(bundle, '11450-4') as Condition[];
    expect(problems.map((c) => c.code?.coding?.[0]?.display)).toEqual([
      'Anemia (disorder)',
      'Prediabetes',
      'Miscarriage in first trimester',
      'Chronic sinusitis (disorder)',
    ]);
    expect(entriesOf(bundle, '48765-2').map((a) => a.resourceType)).toEqual([
      'AllergyIntolerance',
      'AllergyIntolerance',
    ]);
    const medications = entriesOf(bundle, '10160-0');
    expect(medications.map((m) => (m as { status?: string }).status)).toEqual(['active', 'active']);
    expect(section(bundle, '10160-0')?.text?.div).toContain('Camila 28 Day Pack');
  });

  it('lists the most recent result of each test first', () => {
    const results = entriesOf(bundle, '30954-2') as {
      code: { coding: { code: string }[] };
      effectiveDateTime: string;
    }[];
    const codes = results.map((r) => r.code.coding[0]?.code);
    expect(new Set(codes).size).toBe(codes.length);
    const dates = results.map((r) => Date.parse(r.effectiveDateTime));
    expect([...dates].sort((a, b) => b - a)).toEqual(dates);
    // The newest lipid panel (2019), not the 2015 one.
    const lipid = results.find((r) => r.code.coding[0]?.code === '57698-3');
    expect(lipid?.effectiveDateTime.startsWith('2019-02-18')).toBe(true);
    const vitals = entriesOf(bundle, '8716-3');
    expect(vitals.length).toBeGreaterThan(0);
    expect(vitals.every((o) => o.resourceType === 'Observation')).toBe(true);
  });

  it('rewrites every reference to a fullUrl of the document, and cuts the others', () => {
    const fullUrls = new Set((bundle.entry ?? []).map((e) => e.fullUrl));
    expect(fullUrls.size).toBe(bundle.entry?.length);
    for (const url of fullUrls) expect(url).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const refs = allReferences(bundle.entry);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect(fullUrls.has(ref)).toBe(true);
    // A DiagnosticReport brings its result Observations along.
    const report = entriesOf(bundle, '30954-2').find((r) => r.resourceType === 'DiagnosticReport') as {
      result?: { reference: string }[];
    };
    expect(report.result?.length).toBeGreaterThan(0);
    // Encounters are not part of an IPS: the reference is cut and says so.
    const problem = entriesOf(bundle, '11450-4')[0] as Condition;
    expect(problem.encounter).toEqual({ display: 'Encounter not included in this summary' });
    // The input is not modified.
    expect(resources.find((r) => r.id === problem.id)).toMatchObject({
      encounter: { reference: expect.stringMatching(/^Encounter\//) },
    });
  });

  it('validates against the FHIR R4 definitions', () => {
    const result = validateResource(bundle);
    expect(result.issues.filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('keeps the three required sections when empty, with emptyReason unavailable', () => {
    const empty = build(patient, [patient]);
    const sections = composition(empty).section ?? [];
    expect(sections.map((s) => s.code?.coding?.[0]?.code)).toEqual(['11450-4', '48765-2', '10160-0']);
    for (const s of sections) {
      expect(s.entry).toBeUndefined();
      expect(s.emptyReason?.coding).toEqual([
        {
          system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason',
          code: 'unavailable',
          display: 'Unavailable',
        },
      ]);
      expect(s.text?.div).toMatch(/No information about .* is available/);
    }
    expect(empty.entry?.map((e) => e.resource?.resourceType)).toEqual([
      'Composition',
      'Patient',
      'Organization',
    ]);
    expect(validateResource(empty).valid).toBe(true);
  });

  it('escapes record text in the narrative', () => {
    const hostile = condition(patient, '<script>alert("x")</script> & <b>co</b>');
    const doc = build(patient, [patient, hostile]);
    const div = section(doc, '11450-4')?.text?.div ?? '';
    expect(div).not.toContain('<script>');
    expect(div).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;');
    expect(validateResource(doc).valid).toBe(true);
  });

  it('leaves out resolved, refuted and entered-in-error problems', () => {
    const status = (clinical: string, verification?: string): Partial<Condition> => ({
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: clinical }],
      },
      ...(verification === undefined
        ? {}
        : {
            verificationStatus: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/condition-ver-status', code: verification },
              ],
            },
          }),
    });
    const doc = build(patient, [
      condition(patient, 'a', status('resolved')),
      condition(patient, 'bb', status('active', 'refuted')),
      condition(patient, 'ccc', status('active', 'entered-in-error')),
      condition(patient, 'dddd', status('recurrence')),
    ]);
    expect(entriesOf(doc, '11450-4').map((c) => c.id)).toEqual(['c-4']);
  });

  it('caps immunizations at the 50 most recent and says so', () => {
    const shots: Immunization[] = Array.from({ length: 60 }, (_, i) => ({
      resourceType: 'Immunization',
      id: `imm-${i}`,
      status: 'completed',
      vaccineCode: { text: 'Influenza' },
      patient: { reference: `Patient/${patient.id}` },
      occurrenceDateTime: new Date(Date.UTC(1990 + i, 0, 1)).toISOString(),
    }));
    const doc = build(patient, shots);
    const listed = entriesOf(doc, '11369-6');
    expect(listed).toHaveLength(50);
    expect(listed[0]?.id).toBe('imm-59');
    expect(section(doc, '11369-6')?.text?.div).toContain('The 50 most recent of 60 are listed.');
  });

  it('marks the document restricted when an entry carries a sensitivity label', () => {
    const labelled = condition(patient, 'x', {
      meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' }] },
    });
    expect(composition(build(patient, [labelled])).confidentiality).toBe('R');
  });
});
