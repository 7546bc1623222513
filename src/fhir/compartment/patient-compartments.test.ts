import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../errors/index.js';
import { PATIENT_COMPARTMENT_PARAMS, STORED_RESOURCE_TYPES } from '../r4-resource-types.js';
import { getSearchParam, loadSearchParameters } from '../search/load-search-parameters.js';
import { compartmentPatient } from './compartment-patient.js';
import {
  isPatientCompartmentType,
  patientCompartmentParams,
  patientCompartmentsOf,
} from './patient-compartments.js';

const r = (resource: object): Resource => resource as Resource;

beforeAll(() => {
  loadSearchParameters();
});

describe('the R4 Patient compartment', () => {
  it('names, for each of its 66 types, R4 reference parameters that can point at a Patient', () => {
    const types = Object.keys(PATIENT_COMPARTMENT_PARAMS);
    // 67 types with parameters in the definition; Patient itself is in its own compartment by id.
    expect(types).toHaveLength(67);
    for (const [type, params] of Object.entries(PATIENT_COMPARTMENT_PARAMS)) {
      for (const code of params) {
        const param = getSearchParam(type, code);
        expect(param, `${type}.${code}`).toBeDefined();
        expect(param?.type, `${type}.${code}`).toBe('reference');
      }
    }
    expect(patientCompartmentParams('Observation')).toEqual(['subject', 'performer']);
    expect(patientCompartmentParams('Organization')).toEqual([]);
    // CareLedger's additions: types with an R4 `patient` parameter that R4 leaves out.
    expect(patientCompartmentParams('Device')).toEqual(['patient']);
    expect(isPatientCompartmentType('Bundle')).toBe(true);
    expect(isPatientCompartmentType('CodeSystem')).toBe(false);
  });

  it('lists the patients in definition order, then document order; contained references are not patients', () => {
    const observation = r({
      resourceType: 'Observation',
      status: 'final',
      code: {},
      performer: [{ reference: 'Practitioner/x' }, { reference: 'Patient/b' }, { reference: '#p' }],
      subject: { reference: 'https://other.example/fhir/Patient/a/_history/3' },
    });
    expect(patientCompartmentsOf(observation)).toEqual(['a', 'b']);
    expect(compartmentPatient(observation)).toBe('a');
    expect(
      compartmentPatient(
        r({ resourceType: 'Patient', id: 'p', link: [{ other: { reference: 'Patient/o' } }] }),
      ),
    ).toBe('p');
    expect(compartmentPatient(r({ resourceType: 'Claim', patient: { reference: 'Patient/c' } }))).toBe('c');
    expect(compartmentPatient(r({ resourceType: 'Organization', partOf: { reference: 'Patient/z' } }))).toBe(
      '',
    );
  });

  it("puts a Coverage in its beneficiary's compartment first, not the policy holder's", () => {
    const coverage = r({
      resourceType: 'Coverage',
      policyHolder: { reference: 'Patient/parent' },
      beneficiary: { reference: 'Patient/child' },
      payor: [{ reference: 'Organization/ins' }],
    });
    expect(patientCompartmentsOf(coverage)).toEqual(['child', 'parent']);
    expect(compartmentPatient(coverage)).toBe('child');
  });

  it('keeps the AuditEvent patient entity, Groups under the node key, and one patient per Bundle', () => {
    const audit = r({
      resourceType: 'AuditEvent',
      agent: [{ who: { reference: 'Patient/reader' } }],
      entity: [{ what: { reference: 'Patient/subject' }, role: { code: '1' } }],
    });
    expect(compartmentPatient(audit)).toBe('subject');
    const group = r({ resourceType: 'Group', member: [{ entity: { reference: 'Patient/m1' } }] });
    expect(patientCompartmentsOf(group)).toEqual(['m1']);
    expect(compartmentPatient(group)).toBe('');
    const entry = (patient: string) => ({
      resource: { resourceType: 'Condition', subject: { reference: `Patient/${patient}` } },
    });
    const document = r({
      resourceType: 'Bundle',
      type: 'document',
      entry: [{ resource: { resourceType: 'Composition', subject: { reference: 'Patient/d' } } }, entry('d')],
    });
    expect(compartmentPatient(document)).toBe('d');
    expect(compartmentPatient(r({ resourceType: 'Bundle', type: 'collection' }))).toBe('');
    const mixed = r({ resourceType: 'Bundle', type: 'collection', entry: [entry('d'), entry('e')] });
    expect(() => compartmentPatient(mixed)).toThrow(CareLedgerError);
    try {
      compartmentPatient(mixed);
    } catch (error) {
      expect((error as CareLedgerError).code).toBe('ERR_INVALID_INPUT');
      expect(JSON.stringify((error as CareLedgerError).details)).toContain('Bundle.entry');
    }
    expect(
      compartmentPatient(r({ resourceType: 'Binary', securityContext: { reference: 'Patient/bin' } })),
    ).toBe('bin');
  });

  it('places every R4 example of a compartment type that names a Patient with one of the Patients it names', () => {
    const root = dirname(createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'));
    let placed = 0;
    for (const file of readdirSync(root)) {
      if (!file.endsWith('.json') || file === 'package.json' || file.startsWith('.')) continue;
      const resource = JSON.parse(readFileSync(join(root, file), 'utf8')) as Resource;
      if (!(STORED_RESOURCE_TYPES as readonly string[]).includes(resource.resourceType)) continue;
      if (resource.resourceType === 'Bundle' || resource.resourceType === 'Group') continue;
      const patient = compartmentPatient(resource);
      const named = patientCompartmentsOf(resource);
      if (
        patientCompartmentParams(resource.resourceType).length === 0 &&
        resource.resourceType !== 'Patient'
      ) {
        expect(patient, file).toBe('');
        continue;
      }
      if (resource.resourceType === 'AuditEvent') continue;
      expect(patient, file).toBe(named[0] ?? '');
      // Independently of FHIRPath: the subject or patient element, where it names a Patient, wins.
      const direct = ['patient', 'subject', 'beneficiary']
        .map((field) => (resource as unknown as Record<string, { reference?: string }>)[field]?.reference)
        .find((ref) => ref?.startsWith('Patient/'));
      if (direct !== undefined) expect(patient, file).toBe(direct.slice('Patient/'.length));
      if (patient !== '') placed++;
    }
    // 408 of the 5,306 examples belong to a patient (measured).
    expect(placed).toBeGreaterThan(400);
  });
});
