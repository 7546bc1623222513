/**
 * Records are dated by when they happened, not when the member stored them, and every row says what
 * it is (issue 22 item 4): Encounter, Procedure and CarePlan as Synthea and US Core write them.
 */
import { describe, expect, it } from 'vitest';
import { clinicalDate, summarize } from './app/record-summary.js';

const stored = { lastUpdated: '2026-12-07T08:00:00Z' };

describe('the clinical date and summary of each record type', () => {
  it('an Encounter: the visit’s start, its type, reason, place and status', () => {
    const encounter = {
      resourceType: 'Encounter',
      meta: stored,
      status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      type: [
        {
          coding: [
            { system: 'http://snomed.info/sct', code: '185349003', display: 'Encounter for check up' },
          ],
        },
      ],
      reasonCode: [{ text: 'Type 2 diabetes mellitus' }],
      serviceProvider: { display: 'Riverside General Hospital' },
      period: { start: '2026-03-05T09:00:00Z', end: '2026-03-05T09:30:00Z' },
    };
    expect(clinicalDate(encounter)).toBe('2026-03-05T09:00:00Z');
    expect(summarize(encounter)).toEqual([
      'Encounter for check up',
      'for Type 2 diabetes mellitus · Riverside General Hospital · Finished',
    ]);
    const bare = { resourceType: 'Encounter', meta: stored, status: 'finished', class: { code: 'EMER' } };
    expect(summarize(bare)).toEqual(['Emergency visit', 'Finished']);
    expect(clinicalDate(bare)).toBeUndefined();
  });

  it('a Procedure: when it was performed (date-time or period), its code and status', () => {
    const procedure = {
      resourceType: 'Procedure',
      meta: stored,
      status: 'completed',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '73761001', display: 'Colonoscopy' }] },
      performedPeriod: { start: '2025-11-02T10:00:00Z', end: '2025-11-02T10:40:00Z' },
    };
    expect(clinicalDate(procedure)).toBe('2025-11-02T10:00:00Z');
    expect(summarize(procedure)).toEqual(['Colonoscopy', 'Completed']);
    expect(clinicalDate({ ...procedure, performedDateTime: '2025-11-01' })).toBe('2025-11-01');
  });

  it('a CarePlan: its period, category or title, activities and status, never a blank row', () => {
    const plan = {
      resourceType: 'CarePlan',
      meta: stored,
      status: 'active',
      intent: 'plan',
      category: [
        {
          coding: [
            { system: 'http://snomed.info/sct', code: '698360004', display: 'Diabetes self management plan' },
          ],
        },
      ],
      activity: [
        { detail: { code: { coding: [{ display: 'Diabetic diet' }] } } },
        { detail: { code: { text: 'Exercise therapy' } } },
      ],
      period: { start: '2026-01-10' },
    };
    expect(clinicalDate(plan)).toBe('2026-01-10');
    expect(summarize(plan)).toEqual([
      'Diabetes self management plan',
      'Diabetic diet, Exercise therapy · Active',
    ]);
    const [what, details] = summarize({ resourceType: 'CarePlan', status: 'draft', intent: 'proposal' });
    expect(what).toBe('Care plan');
    expect(details).toBe('Draft · Proposed');
  });

  it('never uses meta.lastUpdated as the date', () => {
    expect(clinicalDate({ resourceType: 'Basic', meta: stored })).toBeUndefined();
    expect(clinicalDate({ resourceType: 'Observation', meta: stored, effectiveDateTime: '2026-01-10' })).toBe(
      '2026-01-10',
    );
  });
});
