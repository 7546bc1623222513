/** `$everything` start/end (R4 patient-operation-everything): the care date of each kind of record. */
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { careSpanOf, isWithinCareDates, parseFhirDateSpan } from '../../src/http/routes/fhir-care-dates.js';

const year = (y: string) => parseFhirDateSpan(y);

describe('parseFhirDateSpan', () => {
  it('covers the whole precision of a date and refuses what is not one', () => {
    expect(parseFhirDateSpan('2020-02')).toEqual({
      low: Date.UTC(2020, 1, 1),
      high: Date.UTC(2020, 2, 1),
    });
    expect(parseFhirDateSpan('2020-02-29')).toEqual({
      low: Date.UTC(2020, 1, 29),
      high: Date.UTC(2020, 2, 1),
    });
    for (const bad of ['2021-02-29', '2020-13', '2020-1-1', '20', 'yesterday', '2020-01-01T10:00:00'])
      expect(parseFhirDateSpan(bad)).toBeUndefined();
  });
});

describe('careSpanOf and isWithinCareDates', () => {
  it.each([
    [
      {
        resourceType: 'Claim',
        billablePeriod: { start: '2019-12-01', end: '2020-01-05' },
        created: '2020-02-01',
      },
      true,
    ],
    [{ resourceType: 'ExplanationOfBenefit', created: '2019-06-01' }, false],
    [{ resourceType: 'DiagnosticReport', effectivePeriod: { end: '2020-03-01' } }, true],
    [{ resourceType: 'Condition', onsetDateTime: '2021-01-01T00:00:00Z', recordedDate: '2020-05-01' }, false],
    [{ resourceType: 'Appointment', start: '2020-07-01T09:00:00Z', end: '2020-07-01T09:30:00Z' }, true],
    [{ resourceType: 'Observation', effectiveTiming: { event: ['2019-01-01'] } }, true],
    [{ resourceType: 'Organization', name: 'no care date' }, true],
  ])('%j in 2020: %s', (resource, within) => {
    expect(isWithinCareDates(resource as Resource, { start: year('2020'), end: year('2020') })).toBe(within);
  });

  it('an open Period runs on from its start', () => {
    const encounter = { resourceType: 'Encounter', period: { start: '2019-01-01' } } as Resource;
    expect(careSpanOf(encounter)).toEqual({ low: Date.UTC(2019, 0, 1), high: Number.POSITIVE_INFINITY });
    expect(isWithinCareDates(encounter, { start: year('2030') })).toBe(true);
    expect(isWithinCareDates(encounter, { end: year('2018') })).toBe(false);
  });
});
