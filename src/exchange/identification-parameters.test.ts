import { describe, expect, it } from 'vitest';
import {
  categoryWords,
  grantCoverageWords,
  identificationParameters,
  parseIdentificationParameters,
} from './identification-parameters.js';

describe('Patient/$identify parameters', () => {
  it('carry the Patient reference and the covered categories, and read back', () => {
    const body = identificationParameters(
      { patientId: 'p-1', address: '0x71C7656EC7ab88b098defB751B7401B5f6d8976F', categories: ['laboratory'] },
      'TREAT',
    );
    expect(JSON.stringify(body)).not.toMatch(/"(given|family|birthDate|telecom|address)"/);
    expect(parseIdentificationParameters(body)).toEqual({ patientId: 'p-1', categories: ['laboratory'] });
  });

  it('reads nothing from an answer naming no Patient', () => {
    expect(parseIdentificationParameters({ resourceType: 'Parameters', parameter: [] })).toBeUndefined();
    expect(parseIdentificationParameters({ resourceType: 'Bundle' })).toBeUndefined();
    expect(
      parseIdentificationParameters({
        resourceType: 'Parameters',
        parameter: [{ name: 'patient', valueReference: { reference: 'Patient/../x' } }],
      }),
    ).toBeUndefined();
  });

  it('say in words what the grant covers', () => {
    expect(categoryWords(['laboratory', 'medications', 'allergies'])).toBe(
      'Laboratory results, Medications and Allergies and intolerances',
    );
    expect(grantCoverageWords(['laboratory'], 'TREAT')).toBe(
      "the patient's grant covers Laboratory results for treatment; the patient was matched by ledger address only (no demographics)",
    );
    expect(grantCoverageWords(['demographics', 'laboratory'], 'TREAT')).toBe(
      "the patient's grant covers Demographics and Laboratory results for treatment",
    );
  });
});
