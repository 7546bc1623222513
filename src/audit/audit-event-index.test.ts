import type { AuditEvent } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { extractSearchIndexEntries } from '../fhir/search/extract-search-index-entries.js';
import { indexedSearchParams } from '../fhir/search/indexed-search-params.js';
import { auditEventIndexEntries } from './audit-event-index.js';
import { type AccessContext, type AuditEventInput, createAuditEvent } from './create-audit-event.js';

const hash = (value: string) => `h(${value})`;
const observer = { display: 'Hospital', origin: 'hospital.example/log' };
const recorded = '2026-12-07T05:00:00.000Z';

function stored(input: Omit<AuditEventInput, 'observer' | 'recorded'>): AuditEvent {
  const event = createAuditEvent({ ...input, observer, recorded });
  return { ...event, id: 'a-1', meta: { versionId: '1', lastUpdated: recorded } };
}

const clinician: AccessContext = {
  who: 'Practitioner/dr-1',
  organization: 'Hospital',
  purpose: 'TREAT',
  address: '10.0.0.7',
};

const cases: [string, AuditEvent][] = [
  [
    'a clinician read',
    stored({
      interaction: 'read',
      context: clinician,
      entity: 'Observation/o-1/_history/3',
      patient: 'Patient/p-1',
      outcome: 'success',
    }),
  ],
  [
    'a denial without entity',
    stored({
      interaction: 'search-type',
      context: clinician,
      patient: 'Patient/p-1',
      outcome: 'denied',
      outcomeDescription: 'no grant',
    }),
  ],
  [
    'no patient',
    stored({
      interaction: 'create',
      context: clinician,
      entity: 'Organization/org-1/_history/1',
      outcome: 'success',
    }),
  ],
  [
    'a patient reading their own record',
    stored({
      interaction: 'vread',
      context: { who: 'Patient/p-2', purpose: 'PATRQT' },
      entity: 'Patient/p-2/_history/1',
      patient: 'Patient/p-2',
      outcome: 'success',
    }),
  ],
  [
    'a member acting for a practitioner, break-glass',
    stored({
      interaction: 'read',
      context: {
        who: 'Organization/0x00000000000000000000000000000000000000aA',
        purpose: 'ETREAT',
        breakGlass: true,
        onBehalfOf: 'Practitioner/0x00000000000000000000000000000000000000bB',
      },
      entity: 'Condition/c-9/_history/1',
      patient: 'Patient/p-3',
      outcome: 'success',
      purposeText: 'unconscious',
    }),
  ],
];

describe('auditEventIndexEntries', () => {
  test.each(cases)('gives the FHIRPath rows of the indexed parameters: %s', (_name, event) => {
    const indexed = indexedSearchParams('AuditEvent');
    const expected = extractSearchIndexEntries(event, hash).filter((e) => indexed?.has(e.param));
    const sort = (rows: readonly { param: string; hash: string }[]) =>
      rows.map((r) => `${r.param} ${r.hash}`).sort();
    expect(sort(auditEventIndexEntries(event, hash))).toEqual(sort(expected));
  });

  test('a read has 11 rows instead of the 35 of every parameter', () => {
    const event = cases[0]?.[1] as AuditEvent;
    expect(extractSearchIndexEntries(event, hash)).toHaveLength(35);
    expect(auditEventIndexEntries(event, hash)).toHaveLength(11);
  });
});
