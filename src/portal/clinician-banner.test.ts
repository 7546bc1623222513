import { describe, expect, it } from 'vitest';
import { activeAllergies, activeProblems } from './app/views/clinician-banner-rules.js';

const status = (code: string) => ({ coding: [{ code }] });

describe('chart allergy and problem banner', () => {
  it('lists active allergies, not resolved, refuted or entered-in-error ones', () => {
    const records = [
      { resourceType: 'AllergyIntolerance', id: 'a', clinicalStatus: status('active'), patient: {} },
      { resourceType: 'AllergyIntolerance', id: 'b', clinicalStatus: status('resolved'), patient: {} },
      { resourceType: 'AllergyIntolerance', id: 'c', verificationStatus: status('refuted'), patient: {} },
      {
        resourceType: 'AllergyIntolerance',
        id: 'd',
        verificationStatus: status('entered-in-error'),
        patient: {},
      },
      { resourceType: 'Observation', id: 'o' },
    ];
    expect(activeAllergies(records).map((a) => a.id)).toEqual(['a']);
  });

  it('lists active problem-list conditions, not encounter diagnoses or resolved ones', () => {
    const problem = { coding: [{ code: 'problem-list-item' }] };
    const diagnosis = { coding: [{ code: 'encounter-diagnosis' }] };
    const records = [
      {
        resourceType: 'Condition',
        id: 'p',
        clinicalStatus: status('active'),
        category: [problem],
        subject: {},
      },
      {
        resourceType: 'Condition',
        id: 'q',
        clinicalStatus: status('active'),
        category: [diagnosis],
        subject: {},
      },
      {
        resourceType: 'Condition',
        id: 'r',
        clinicalStatus: status('resolved'),
        category: [problem],
        subject: {},
      },
      { resourceType: 'Condition', id: 's', clinicalStatus: status('active'), subject: {} },
      {
        resourceType: 'Condition',
        id: 't',
        clinicalStatus: status('active'),
        verificationStatus: status('entered-in-error'),
        subject: {},
      },
    ];
    expect(activeProblems(records).map((c) => c.id)).toEqual(['p', 's']);
  });
});
