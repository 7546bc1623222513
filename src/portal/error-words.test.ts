import { describe, expect, it } from 'vitest';
import { errorWords } from './app/error-words.js';

describe('errors in words (issue 22: no raw FHIR error texts)', () => {
  it('says a FHIR reference as words and drops the HTTP status', () => {
    expect(errorWords(404, 'Patient/c887c6a9-c3aa-4f63-bc8f-38533474066f does not exist')).toBe(
      'The patient does not exist',
    );
    expect(errorWords(409, 'Observation/o-1/_history/2 was changed')).toBe('The result was changed');
  });

  it('keeps the node’s own sentence and words that only look like references', () => {
    expect(errorWords(403, 'no consent in force for laboratory results')).toBe(
      'No consent in force for laboratory results',
    );
    expect(errorWords(400, 'HIV/AIDS records need their own grant')).toBe(
      'HIV/AIDS records need their own grant',
    );
  });

  it('says a busy or failing node, or an empty answer, in plain words', () => {
    expect(errorWords(503, 'shed: queue full')).toBe('The service is busy right now. Try again in a moment.');
    expect(errorWords(500, 'TypeError: x is undefined')).toMatch(/^Something went wrong at the service/);
    expect(errorWords(404, 'HTTP 404')).toMatch(/^It was not found/);
    for (const status of [400, 403, 404, 429, 500, 503])
      expect(errorWords(status, `HTTP ${status}`)).not.toMatch(/HTTP|\d{3}/);
  });
});
