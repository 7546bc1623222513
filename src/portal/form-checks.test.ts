/**
 * The clinician forms' own checks (issue 22 items 2 and 3): what the person must fix is named per
 * field, in words, before anything is sent; server issues go back to the field their expression names.
 */
import { describe, expect, it } from 'vitest';
import {
  checkBreakGlass,
  checkCode,
  checkMedication,
  checkNote,
  checkObservation,
  fieldOfExpression,
  parseNumber,
} from './app/form-checks.js';

const NOW = new Date('2026-12-07T09:00:00Z');
const fields = (problems: { field: string }[]) => problems.map((p) => p.field);

describe('the observation form', () => {
  it('accepts a plausible heart rate measured now', () => {
    expect(
      checkObservation({ loinc: '8867-4', value: '72', when: '2026-12-07T08:59:00Z', now: NOW }),
    ).toEqual([]);
  });

  it('asks for a value when there is none, and for a number when it is words', () => {
    const empty = checkObservation({ loinc: '8867-4', value: '  ', when: '2026-12-07T08:00:00Z', now: NOW });
    expect(empty).toEqual([{ field: 'value', message: 'Enter the measured value.' }]);
    const words = checkObservation({
      loinc: '8867-4',
      value: 'seventy',
      when: '2026-12-07T08:00:00Z',
      now: NOW,
    });
    expect(words[0]?.message).toMatch(/^Enter a number/);
  });

  it('refuses a heart rate of −5000/min and a temperature of 370 °C, naming the range', () => {
    const [rate] = checkObservation({
      loinc: '8867-4',
      value: '-5000',
      when: '2026-12-07T08:00:00Z',
      now: NOW,
    });
    expect(rate?.field).toBe('value');
    expect(rate?.message).toContain('between 20 and 300 /min');
    const [temperature] = checkObservation({
      loinc: '8310-5',
      value: '370',
      when: '2026-12-07T08:00:00Z',
      now: NOW,
    });
    expect(temperature?.message).toContain('between 25 and 45 Cel');
    expect(parseNumber('36,8')).toBe(36.8);
  });

  it('refuses a date in the future and an empty date', () => {
    expect(
      fields(checkObservation({ loinc: '8867-4', value: '72', when: '2030-01-01T00:00', now: NOW })),
    ).toEqual(['when']);
    expect(fields(checkObservation({ loinc: '8867-4', value: '72', when: '', now: NOW }))).toEqual(['when']);
  });
});

describe('codes, medications and notes', () => {
  it('checks a code against its system’s format', () => {
    expect(checkCode('http://www.nlm.nih.gov/research/umls/rxnorm', 'not-a-code!!')).toContain('RxNorm');
    expect(checkCode('http://www.nlm.nih.gov/research/umls/rxnorm', '860975')).toBeUndefined();
    expect(checkCode('http://loinc.org', '8867-4')).toBeUndefined();
    expect(checkCode('http://loinc.org', '88674')).toContain('LOINC');
    expect(checkCode('http://snomed.info/sct', '44054006')).toBeUndefined();
  });

  it('names each empty required field of the medication and note forms', () => {
    expect(fields(checkMedication({ name: '', rxnorm: 'not-a-code!!' }))).toEqual(['medication', 'rxnorm']);
    expect(checkMedication({ name: 'Metformin 500 mg oral tablet', rxnorm: '' })).toEqual([]);
    expect(fields(checkNote({ title: ' ', text: '' }))).toEqual(['title', 'text']);
  });

  it('asks for a break-glass reason of 10 characters and a 6-digit code', () => {
    expect(fields(checkBreakGlass({ reason: 'urgent', code: '12ab' }))).toEqual(['reason', 'code']);
    expect(checkBreakGlass({ reason: 'Unconscious on arrival', code: '123456' })).toEqual([]);
  });

  it('maps a server issue’s expression to the form field, by the longest prefix, ignoring indexes', () => {
    const paths = {
      'DocumentReference.content.attachment.data': 'text',
      'DocumentReference.description': 'title',
      'Observation.value': 'value',
      'Observation.valueQuantity.unit': 'unit',
    };
    expect(fieldOfExpression(['DocumentReference.content[0].attachment.data'], paths)).toBe('text');
    expect(fieldOfExpression(['Observation.valueQuantity.unit'], paths)).toBe('unit');
    expect(fieldOfExpression(['Observation.value'], paths)).toBe('value');
    expect(fieldOfExpression(['Observation.subject'], paths)).toBeUndefined();
    expect(fieldOfExpression(undefined, paths)).toBeUndefined();
  });
});
