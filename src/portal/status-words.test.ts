/**
 * A record's status as a patient reads it (issue 22, "wording with jargon"): the walk-through of
 * 7 Dec 2026 found "Type 2 diabetes mellitus · active", "Influenza, seasonal · completed", a care plan
 * "· active · plan" and a stay "until 2026-03-07" in My records.
 */
import { describe, expect, it } from 'vitest';
import { recordRow } from './app/record-rows.js';
import { summarize } from './app/record-summary.js';
import { intentWords, statusWords } from './app/status-words.js';

describe('status words', () => {
  it('words a status for the kind of record, in sentence case', () => {
    expect(statusWords('Immunization', 'completed')).toBe('Given');
    expect(statusWords('Immunization', 'not-done')).toBe('Not given');
    expect(statusWords('Condition', 'active')).toBe('Current');
    expect(statusWords('Condition', 'resolved')).toBe('Resolved');
    expect(statusWords('MedicationRequest', 'active')).toBe('Active prescription');
    expect(statusWords('Procedure', 'completed')).toBe('Completed');
    expect(statusWords('Encounter', 'in-progress')).toBe('In progress');
    expect(statusWords('Observation', 'entered-in-error')).toBe('Entered in error');
    expect(statusWords('CarePlan', 'revoked')).toBe('Withdrawn');
    // A code not listed still reads as words; "unknown" and no status say nothing.
    expect(statusWords('Encounter', 'entered-by-someone')).toBe('Entered by someone');
    expect(statusWords('Procedure', 'unknown')).toBe('');
    expect(statusWords('Procedure', undefined)).toBe('');
  });

  it('leaves out the intents that tell a patient nothing', () => {
    expect(intentWords('plan')).toBe('');
    expect(intentWords('order')).toBe('');
    expect(intentWords('proposal')).toBe('Proposed');
  });

  it('My records rows: a condition, an immunization, a prescription and a stay read as words', () => {
    const condition = recordRow({
      resource: {
        resourceType: 'Condition',
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
        },
        code: { text: 'Type 2 diabetes mellitus' },
        recordedDate: '2026-01-10',
      },
      servedBy: 'Riverside General Hospital',
    });
    expect(condition?.details).toBe('Current');
    const flu = recordRow({
      resource: {
        resourceType: 'Immunization',
        status: 'completed',
        vaccineCode: { text: 'Influenza, seasonal' },
        occurrenceDateTime: '2025-10-01',
      },
      servedBy: 'Riverside General Hospital',
    });
    expect(flu?.details).toBe('Given');
    const metformin = recordRow({
      resource: {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        medicationCodeableConcept: { text: 'Metformin 500 mg oral tablet' },
        dosageInstruction: [{ text: 'One tablet twice a day' }],
      },
      servedBy: 'Riverside General Hospital',
    });
    expect(metformin?.details).toBe('Active prescription · One tablet twice a day');
    const [, stay] = summarize({
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'IMP' },
      period: { start: '2026-03-05T09:00:00Z', end: '2026-03-07T11:00:00Z' },
    });
    expect(stay).toBe('until 7 Mar 2026 · Finished');
    expect(stay).not.toMatch(/\d{4}-\d{2}-\d{2}/);
  });
});
