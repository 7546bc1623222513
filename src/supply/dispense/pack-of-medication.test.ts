import type { Medication, MedicationDispense } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { medicationOfDispense, packOfMedication } from './pack-of-medication.js';

const GTIN = '09506000134352';

describe('the pack a Medication names', () => {
  it('reads GTIN and serial identifiers, lot and expiry from batch', () => {
    const medication: Medication = {
      resourceType: 'Medication',
      identifier: [
        { system: 'https://www.gs1.org/gtin', value: GTIN },
        { system: 'https://www.gs1.org/serial', value: 'S1' },
      ],
      batch: { lotNumber: 'L1', expirationDate: '2030-06-30' },
    };
    expect(packOfMedication(medication)).toEqual({
      gtin: GTIN,
      serial: 'S1',
      lot: 'L1',
      expiry: '2030-06-30',
    });
  });

  it('reads a whole pack from a Digital Link or element string identifier, and a GTIN from the code', () => {
    expect(
      packOfMedication({
        resourceType: 'Medication',
        identifier: [
          { system: 'https://id.gs1.org', value: `https://id.gs1.org/01/${GTIN}/10/L1/21/S2?17=300630` },
        ],
      }),
    ).toEqual({ gtin: GTIN, serial: 'S2', lot: 'L1', expiry: '2030-06-30' });
    expect(
      packOfMedication({
        resourceType: 'Medication',
        code: { coding: [{ system: 'urn:oid:1.3.160', code: GTIN }] },
        identifier: [{ system: 'https://www.gs1.org/serial', value: 'S3' }],
      }),
    ).toEqual({ gtin: GTIN, serial: 'S3' });
  });

  it('names no pack without a serial, and refuses a bad check digit with its reason', () => {
    expect(packOfMedication({ resourceType: 'Medication', code: { text: 'aspirin' } })).toBeUndefined();
    expect(() =>
      packOfMedication({
        resourceType: 'Medication',
        identifier: [
          { system: 'https://www.gs1.org/gtin', value: '09506000134353' },
          { system: 'https://www.gs1.org/serial', value: 'S1' },
        ],
      }),
    ).toThrow(/check digit/i);
  });

  it('finds the Medication of a dispense: contained, or a reference to read', () => {
    const contained: MedicationDispense = {
      resourceType: 'MedicationDispense',
      status: 'completed',
      contained: [{ resourceType: 'Medication', id: 'm' }],
      medicationReference: { reference: '#m' },
    };
    expect(medicationOfDispense(contained)).toEqual({ contained: { resourceType: 'Medication', id: 'm' } });
    expect(
      medicationOfDispense({
        ...contained,
        contained: [],
        medicationReference: { reference: 'Medication/42' },
      }),
    ).toEqual({ reference: 'Medication/42' });
    expect(
      medicationOfDispense({ ...contained, medicationReference: { reference: '#other' } }),
    ).toBeUndefined();
  });
});
