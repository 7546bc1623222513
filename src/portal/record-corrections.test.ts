import { describe, expect, it } from 'vitest';
import {
  amendableValue,
  amendRecord,
  CORRECTION_EXTENSION,
  checkCorrectionReason,
  isEnteredInError,
  markEnteredInError,
} from './app/record-corrections.js';

const by = {
  reason: 'Wrong patient selected at entry',
  author: 'Practitioner/dr-grey',
  at: new Date('2026-12-07T10:00:00Z'),
};

const correction = (r: unknown) =>
  ((r as { extension?: { url: string; extension: { url: string }[] }[] }).extension ?? []).find(
    (e) => e.url === CORRECTION_EXTENSION,
  );

describe('chart corrections', () => {
  it('marks an Observation entered in error by its status, with kind, reason, author and date', () => {
    const next = markEnteredInError(
      { resourceType: 'Observation', id: 'o1', status: 'final', valueQuantity: { value: 72 } } as never,
      by,
    );
    expect(next.status).toBe('entered-in-error');
    expect(isEnteredInError(next)).toBe(true);
    expect(correction(next)?.extension).toEqual([
      { url: 'kind', valueCode: 'entered-in-error' },
      { url: 'reason', valueString: 'Wrong patient selected at entry' },
      { url: 'author', valueReference: { reference: 'Practitioner/dr-grey' } },
      { url: 'date', valueDateTime: '2026-12-07T10:00:00.000Z' },
    ]);
  });

  it('marks a Condition by its verification status and drops clinicalStatus (R4 con-5)', () => {
    const next = markEnteredInError(
      {
        resourceType: 'Condition',
        id: 'c1',
        clinicalStatus: { coding: [{ code: 'active' }] },
        verificationStatus: { coding: [{ code: 'confirmed' }] },
      } as never,
      by,
    ) as Record<string, unknown>;
    expect(next.clinicalStatus).toBeUndefined();
    expect(isEnteredInError(next as never)).toBe(true);
  });

  it('refuses a type without an entered-in-error state', () => {
    expect(() => markEnteredInError({ resourceType: 'Patient', id: 'p' } as never, by)).toThrow();
  });

  it('amends an Observation value and a note text, keeping the rest', () => {
    const obs = amendRecord(
      {
        resourceType: 'Observation',
        id: 'o1',
        status: 'final',
        valueQuantity: { value: 720, unit: '/min' },
      } as never,
      '72',
      by,
    ) as unknown as { valueQuantity: { value: number; unit: string } };
    expect(obs.valueQuantity).toEqual({ value: 72, unit: '/min' });
    expect(correction(obs)?.extension[0]).toEqual({ url: 'kind', valueCode: 'amended' });
    const note = amendRecord(
      {
        resourceType: 'DocumentReference',
        id: 'd',
        status: 'current',
        content: [{ attachment: { title: 'x' } }],
      } as never,
      'Glucose improving — ok',
      by,
    );
    expect(amendableValue(note)).toBe('Glucose improving — ok');
  });

  it('wants a reason of at least 10 characters', () => {
    expect(checkCorrectionReason('typo')).toMatch(/10 characters/);
    expect(checkCorrectionReason('Wrong patient selected')).toBeUndefined();
  });
});
