import type { Claim, Coverage } from '@medplum/fhirtypes';

/**
 * Shapes taken from a Synthea R4 bundle (../shared/data/synthea-r4): Synthea's Claim carries only
 * `total`, diagnoses by reference and SNOMED service codes; its Coverage appears contained in the
 * ExplanationOfBenefit. Prices per line and CPT codes are added here so the amounts are checkable.
 */
export const PATIENT = 'urn:uuid:9afe28dc-7ad5-4e90-b6a6-16123eae98c3';
export const CPT = 'http://www.ama-assn.org/go/cpt';
export const SNOMED = 'http://snomed.info/sct';

export function syntheaCoverage(): Coverage {
  return {
    resourceType: 'Coverage',
    id: 'coverage',
    status: 'active',
    type: { text: 'private' },
    beneficiary: { reference: PATIENT },
    payor: [{ display: 'private' }],
    period: { start: '2026-01-01', end: '2026-12-31' },
  };
}

export interface Line {
  readonly system?: string;
  readonly code: string;
  readonly net: number;
  readonly quantity?: number;
  readonly unitPrice?: number;
  readonly diagnosisSequence?: number[];
}

export function syntheaClaim(date: string, lines: readonly Line[], overrides: Partial<Claim> = {}): Claim {
  const total = lines.reduce((sum, line) => sum + Math.round(line.net * 100), 0) / 100;
  return {
    resourceType: 'Claim',
    id: 'ae00143a-fc3a-4269-9604-03b31d513a4b',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: PATIENT },
    billablePeriod: { start: `${date}T06:29:54+00:00`, end: `${date}T06:59:54+00:00` },
    created: `${date}T06:59:54+00:00`,
    provider: { reference: 'urn:uuid:f4e7709c-02f6-37ca-aeea-8247d74e88e7' },
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    diagnosis: [
      { sequence: 1, diagnosisReference: { reference: 'urn:uuid:e0a2db02-d097-4d5f-8252-8ce52de1b69c' } },
      {
        sequence: 2,
        diagnosisCodeableConcept: {
          coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'M17.11' }],
        },
      },
    ],
    insurance: [{ sequence: 1, focal: true, coverage: { display: 'private' } }],
    item: lines.map((line, index) => ({
      sequence: index + 1,
      productOrService: { coding: [{ system: line.system ?? CPT, code: line.code }] },
      ...(line.diagnosisSequence === undefined ? {} : { diagnosisSequence: line.diagnosisSequence }),
      ...(line.quantity === undefined ? {} : { quantity: { value: line.quantity } }),
      ...(line.unitPrice === undefined ? {} : { unitPrice: { value: line.unitPrice, currency: 'USD' } }),
      net: { value: line.net, currency: 'USD' },
    })),
    total: { value: total, currency: 'USD' },
    ...overrides,
  };
}

export const POLICY_JSON = {
  payerId: 'payer-northwind',
  version: '2026.1',
  effective: { start: '2026-01-01', end: '2026-12-31' },
  currency: 'USD',
  coinsurance: 0.2,
  deductible: '500.00',
  outOfPocketMax: 1500,
  timelyFilingDays: 90,
  classCopay: { office: 25 },
  services: [
    { system: 'CPT', code: '99213', class: 'office' },
    { system: 'CPT', code: '70553' },
    { system: 'CPT', code: '27447', priorAuthorization: true },
    { system: 'CPT', code: '97110', limitPerPeriod: 2, copay: 10, allowed: 40 },
    { system: 'SNOMED', code: '185349003', copay: 0 },
    { system: 'CVX', code: '140' },
  ],
  diagnoses: [
    { system: 'ICD-10', code: 'M17.11' },
    { system: 'SNOMED', code: '15777000' },
  ],
};

/** A Synthea wellness-visit claim as generated (only the dates moved into 2026): the encounter line
 * has no price, the immunization line has `net`, and `total` covers both. */
export function syntheaWellnessClaim(): Claim {
  return {
    resourceType: 'Claim',
    id: '3c1d1e4e-7f0b-4a3e-9b43-0d2b1c9f7a10',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'institutional' }] },
    use: 'claim',
    patient: { reference: PATIENT },
    billablePeriod: { start: '2026-03-02T06:29:54+00:00', end: '2026-03-02T06:59:54+00:00' },
    created: '2026-03-02T06:59:54+00:00',
    provider: { reference: 'urn:uuid:f4e7709c-02f6-37ca-aeea-8247d74e88e7' },
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    insurance: [{ sequence: 1, focal: true, coverage: { display: 'private' } }],
    item: [
      {
        sequence: 1,
        productOrService: {
          coding: [{ system: SNOMED, code: '185349003', display: 'Encounter for check up (procedure)' }],
          text: 'Encounter for check up (procedure)',
        },
        encounter: [{ reference: 'urn:uuid:a28f9f6c-659d-4af8-9b84-b66f5d544412' }],
      },
      {
        sequence: 2,
        productOrService: {
          coding: [
            {
              system: 'http://hl7.org/fhir/sid/cvx',
              code: '140',
              display: 'Influenza, seasonal, injectable, preservative free',
            },
          ],
          text: 'Influenza, seasonal, injectable, preservative free',
        },
        net: { value: 140.52, currency: 'USD' },
      },
    ],
    total: { value: 265.52, currency: 'USD' },
  };
}
