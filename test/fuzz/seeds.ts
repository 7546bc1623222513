/** Valid inputs the mutation fuzzers start from: each parses cleanly before it is broken. */
export const PATIENT_SEED = {
  resourceType: 'Patient',
  id: 'fuzz-patient-1',
  identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: '999-00-1234' }],
  name: [{ family: 'Doe', given: ['Jane', 'Q'] }],
  gender: 'female',
  birthDate: '1980-02-29',
  telecom: [{ system: 'phone', value: '+1 555 0100', use: 'home' }],
};

export const OBSERVATION_SEED = {
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose' }] },
  subject: { reference: 'Patient/fuzz-patient-1' },
  effectiveDateTime: '2024-05-01T10:30:00Z',
  valueQuantity: { value: 95.5, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
};

export const BUNDLE_SEED = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: 'urn:uuid:0f0c8f4e-5d0a-4a4e-9b1a-2b1f6a1e0c01',
      resource: { resourceType: 'Patient', name: [{ family: 'Roe' }] },
      request: { method: 'POST', url: 'Patient' },
    },
    {
      fullUrl: 'urn:uuid:0f0c8f4e-5d0a-4a4e-9b1a-2b1f6a1e0c02',
      resource: {
        ...OBSERVATION_SEED,
        subject: { reference: 'urn:uuid:0f0c8f4e-5d0a-4a4e-9b1a-2b1f6a1e0c01' },
        hasMember: [{ reference: 'Observation?identifier=x|1' }],
      },
      request: { method: 'POST', url: 'Observation' },
    },
  ],
};

export const PARAMETERS_SEED = {
  resourceType: 'Parameters',
  parameter: [
    { name: 'reason', valueString: 'patient request' },
    { name: 'at', valueDateTime: '2024-05-01T10:30:00Z' },
    { name: 'part', part: [{ name: 'inner', valueBoolean: true }] },
  ],
};

export const FHIR_SEEDS: readonly unknown[] = [PATIENT_SEED, OBSERVATION_SEED, BUNDLE_SEED, PARAMETERS_SEED];

/** Nasty path segments: ids, hex, numbers, unicode, very long, traversal, encoded NUL. */
export const NASTY_SEGMENTS: readonly string[] = [
  'fuzz-patient-1',
  '0x0000000000000000000000000000000000000000',
  `0x${'ab'.repeat(32)}`,
  '-1',
  '18446744073709551616',
  '1e308',
  '%F0%9F%92%A9',
  'x'.repeat(5000),
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '%',
  '%E0%A4%A',
  '.',
  '000',
  'Patient',
];
