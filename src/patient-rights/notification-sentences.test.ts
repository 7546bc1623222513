import { describe, expect, it } from 'vitest';
import {
  accessRequestSentence,
  breakGlassSentenceForPatient,
  breakGlassSentenceForReviewer,
  dateWords,
  instantWords,
  integrityAlertSentence,
} from './notification-sentences.js';

const NO_IDS = /Practitioner\/|Patient\/|Consent\/|\d{4}-\d{2}-\d{2}T|\(purpose [A-Z]+\)/;

describe('notification sentences', () => {
  it('says a time in words, in UTC', () => {
    expect(instantWords('2026-12-07T17:37:34.455Z')).toBe('7 December 2026, 17:37 UTC');
    expect(instantWords('not a time')).toBe('an unknown time');
    expect(dateWords('2026-12-03')).toBe('3 December 2026');
  });

  it('says who opened emergency access, until when, without ids', () => {
    const words = {
      clinician: 'Dr Meredith Grey',
      organization: 'Riverside General Hospital',
      until: '2026-12-07T17:37:34.455Z',
    };
    const patient = breakGlassSentenceForPatient(words);
    expect(patient).toBe(
      'Dr Meredith Grey at Riverside General Hospital opened emergency access to your records until 7 December 2026, 17:37 UTC. Every record opened under it is recorded, and the privacy officer reviews why.',
    );
    const reviewer = breakGlassSentenceForReviewer({ ...words, clinician: undefined });
    expect(reviewer).toContain(
      'A clinician at Riverside General Hospital opened emergency access to a patient’s records',
    );
    for (const text of [patient, reviewer]) expect(text).not.toMatch(NO_IDS);
  });

  it('says an access request with its purpose in words', () => {
    const text = accessRequestSentence({
      clinician: 'Dr Meredith Grey',
      organization: 'Riverside General Hospital',
      purpose: 'TREAT',
    });
    expect(text).toBe(
      'Dr Meredith Grey at Riverside General Hospital asks to see your records for your treatment. Answer it on the Sharing page.',
    );
    expect(accessRequestSentence({ clinician: undefined, organization: 'X', purpose: 'HRESCH' })).toContain(
      'for healthcare research',
    );
  });

  it('names the kind of a record that failed its integrity check, not its id', () => {
    expect(integrityAlertSentence('Observation')).toMatch(/^A stored Observation failed its integrity check/);
    expect(integrityAlertSentence('<script>')).toMatch(/^A stored record failed/);
  });
});
