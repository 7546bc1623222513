import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { CONTAINED_TYPE_PARAM, containedParam, containedTypeHash } from './contained-index-entries.js';
import { extractSearchIndexEntries } from './extract-search-index-entries.js';

const keyedHash = (value: string) => `h(${value})`;
const medication = {
  resourceType: 'Medication',
  id: 'med',
  code: { coding: [{ system: 'http://snomed.info/sct', code: '430127000' }] },
} as Resource;

describe('contained resources in the blind index', () => {
  it('keeps each contained resource’s own rows, hashed as if it stood alone, and a row naming its type', () => {
    const container = {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/p' },
      medicationReference: { reference: '#med' },
      contained: [medication, { ...medication, id: 'med2' }],
    } as Resource;
    const rows = extractSearchIndexEntries(container, keyedHash);
    const own = extractSearchIndexEntries(medication, keyedHash);
    for (const row of own) {
      expect(rows).toContainEqual({ ...row, param: containedParam(row.param) });
    }
    expect(rows).toContainEqual({
      param: CONTAINED_TYPE_PARAM,
      kind: 'token',
      hash: containedTypeHash(keyedHash, 'MedicationRequest', 'Medication'),
    });
    // Two contained Medications with the same code: one row per value, as within one resource.
    const keys = rows.map((r) => `${r.param} ${r.hash}`);
    expect(new Set(keys).size).toBe(keys.length);
    // Parameter names are stored in the clear: they do not name the contained type.
    expect(
      rows.filter((r) => r.param.startsWith('_contained')).every((r) => !r.param.includes('Medication')),
    ).toBe(true);
  });

  it('adds nothing for a resource without contained resources', () => {
    expect(
      extractSearchIndexEntries(medication, keyedHash).some((r) => r.param.startsWith('_contained')),
    ).toBe(false);
  });
});
