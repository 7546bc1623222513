import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../errors/index.js';
import { applyJsonPatch } from './apply-json-patch.js';

const patient = { resourceType: 'Patient', id: 'p', name: [{ family: 'F', given: ['A'] }] } as Resource;

describe('applyJsonPatch', () => {
  // RFC 6902 Appendix A.1 and A.8, applied to a FHIR resource.
  it('adds and tests values', () => {
    const out = applyJsonPatch(patient, [
      { op: 'add', path: '/gender', value: 'female' },
      { op: 'test', path: '/gender', value: 'female' },
    ]);
    expect(out).toMatchObject({ gender: 'female' });
    expect(patient).not.toHaveProperty('gender');
  });

  it('drops the arrays and objects a removal leaves empty', () => {
    const out = applyJsonPatch(patient, [{ op: 'remove', path: '/name/0/given/0' }]);
    expect(out).toEqual({ resourceType: 'Patient', id: 'p', name: [{ family: 'F' }] });
    const none = applyJsonPatch(patient, [
      { op: 'remove', path: '/name/0/family' },
      { op: 'remove', path: '/name/0/given' },
    ]);
    expect(none).toEqual({ resourceType: 'Patient', id: 'p' });
  });

  it('refuses a failed test and a missing path (RFC 6902 §5: atomic)', () => {
    expect(() => applyJsonPatch(patient, [{ op: 'test', path: '/id', value: 'q' }])).toThrow(CareLedgerError);
    expect(() =>
      applyJsonPatch(patient, [{ op: 'replace', path: '/birthDate', value: '2000-01-01' }]),
    ).toThrow(/operation 0 cannot be applied/);
  });

  it('refuses malformed documents as 400s', () => {
    for (const body of [
      {},
      [{ op: 'jump', path: '/x' }],
      [{ op: 'add', path: 'x', value: 1 }],
      [{ op: 'move', path: '/x' }],
    ]) {
      expect(() => applyJsonPatch(patient, body)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_INPUT' }),
      );
    }
  });
});
