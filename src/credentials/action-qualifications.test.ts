import { describe, expect, it } from 'vitest';
import {
  credentialActionOf,
  evaluateQualification,
  isQualifiedFor,
  NUCC_TAXONOMY_SYSTEM,
} from './action-qualifications.js';
import { V2_0360_SYSTEM } from './practitioner-credential.js';

const v2 = (code: string) => ({ system: V2_0360_SYSTEM, code });
const nucc = (code: string) => ({ system: NUCC_TAXONOMY_SYSTEM, code });

describe('the qualification an action needs', () => {
  it('makes the create or update of an order prescribing, everything else access', () => {
    expect(credentialActionOf('create', 'MedicationRequest')).toBe('prescribe');
    expect(credentialActionOf('update', 'ServiceRequest')).toBe('prescribe');
    expect(credentialActionOf('create', 'VisionPrescription')).toBe('prescribe');
    expect(credentialActionOf('read', 'MedicationRequest')).toBe('access');
    expect(credentialActionOf('create', 'Observation')).toBe('access');
    expect(credentialActionOf('delete', 'MedicationRequest')).toBe('access');
  });

  it('lets prescribers (v2-0360 and NUCC) prescribe, and any licence access', () => {
    for (const q of [
      v2('MD'),
      v2('DO'),
      v2('NP'),
      v2('PA'),
      v2('CNM'),
      nucc('207Q00000X'),
      nucc('363LF0000X'),
    ]) {
      expect(isQualifiedFor('prescribe', q), q.code).toBe(true);
    }
    for (const q of [v2('RN'), v2('RPH'), v2('PharmD'), v2('EMT'), nucc('163W00000X'), nucc('183500000X')]) {
      expect(isQualifiedFor('prescribe', q), q.code).toBe(false);
      expect(isQualifiedFor('access', q), q.code).toBe(true);
    }
    // A code system the table does not know never prescribes.
    expect(isQualifiedFor('prescribe', { system: 'http://snomed.info/sct', code: '309343006' })).toBe(false);
  });

  it('says why, naming the code and the action only', () => {
    expect(evaluateQualification('prescribe', v2('RN'))).toBe(
      'not-qualified (prescribing needs a prescriber licence, not RN)',
    );
    expect(evaluateQualification('prescribe', v2('MD'))).toBeUndefined();
  });
});
