/**
 * Access-history entries in words (issue 22, "wording with jargon"): the walk-through of 7 Dec 2026
 * found "a clinician of Riverside General Hospital ran an operation on your details" for the
 * registrar linking Maria's consent key at the desk.
 */
import { describe, expect, it } from 'vitest';
import { accessWords } from './app/access-words.js';

describe('what an access did, in words', () => {
  it('names the consent-key enrolment, not "ran an operation"', () => {
    expect(accessWords('Patient/p1/$ledger-key-challenge', 'E', false)).toBe(
      'started linking your consent key to your record',
    );
    expect(accessWords('Patient/p1/$enrol-ledger-key', 'E', false)).toBe(
      'linked your consent key to your record',
    );
  });

  it('an operation it does not know is "processed", never the FHIR term', () => {
    const words = accessWords('Patient/p1/$something-new', 'E', false);
    expect(words).toBe('processed your details');
    expect(words).not.toMatch(/operation|\$/);
  });

  it('keeps the words it had for reads, searches and whole-record opens', () => {
    expect(accessWords('Observation/o1', 'R', false)).toBe('read a result');
    expect(accessWords('Observation?patient=p1', 'R', true)).toBe('searched your records (result)');
    expect(accessWords('Patient/p1/$everything', 'E', false)).toBe('opened all your records');
  });
});
