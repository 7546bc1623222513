import { describe, expect, it } from 'vitest';
import type { EmergencyAccess } from './app/break-glass-session.js';
import { openedWords, outcomeWords } from './app/review-words.js';

const at = (what: string, interaction: string): EmergencyAccess => ({
  when: '2026-12-07T16:35:00Z',
  what,
  interaction,
  allowed: true,
});

describe('the review card says what was opened in words, not ids (issue 22)', () => {
  it("names the patient's own record", () => {
    expect(openedWords(at('Patient/p1/$everything', 'operation'), 'p1', 'Maria Rivera')).toBe(
      'ran $everything on Maria Rivera’s whole record',
    );
    expect(openedWords(at('Patient/p1/_history/2', 'read'), 'p1', 'Maria Rivera')).toBe(
      'read a version of Maria Rivera’s details',
    );
    expect(openedWords(at('Patient/p1', 'read'), 'p1', 'Maria Rivera')).toBe('read Maria Rivera’s details');
    expect(openedWords(at('Patient/p1', 'read'), 'p1', undefined)).toBe('read the patient’s details');
  });

  it('says the kind of record for other types, never its id', () => {
    expect(openedWords(at('Observation/o-123', 'read'), 'p1', 'Maria Rivera')).toBe(
      'read a result or measurement',
    );
    expect(openedWords(at('Observation', 'search-type'), 'p1', 'Maria Rivera')).toBe(
      'searched results and measurements',
    );
    expect(openedWords(at('MedicationRequest/m1/_history/3', 'read'), 'p1', undefined)).toBe(
      'read a version of a prescription',
    );
    expect(openedWords(at('Basic/b1', 'update'), 'p1', undefined)).toBe('updated a record');
    expect(openedWords(at('', 'read'), 'p1', undefined)).toBe('read the record');
    for (const what of ['Observation/o-123', 'Patient/p1/_history/2', 'Basic/b1'])
      expect(openedWords(at(what, 'read'), 'p1', 'Maria Rivera')).not.toMatch(/o-123|p1|b1|\//);
  });

  it('writes the outcome of a review in words', () => {
    expect(outcomeWords('justified')).toBe('Justified');
    expect(outcomeWords('not-justified')).toBe('Not justified');
  });
});
