import type { AuditEvent } from '@medplum/fhirtypes';
import { describe, expect, test } from 'vitest';
import { extractSearchIndexEntries } from '../fhir/search/extract-search-index-entries.js';
import { indexedSearchParams } from '../fhir/search/indexed-search-params.js';
import { AUDIT_INDEX_HASH_CACHE_SIZE, auditEventIndexEntries } from './audit-event-index.js';
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

  test('kept hashes are per keyed-hash function: a vault with another key gets its own rows', () => {
    const event = cases[0]?.[1] as AuditEvent;
    const first = (value: string) => `k1(${value})`;
    const second = (value: string) => `k2(${value})`;
    const rows = auditEventIndexEntries(event, first);
    expect(auditEventIndexEntries(event, first)).toEqual(rows);
    const other = auditEventIndexEntries(event, second);
    expect(other.map((r) => r.hash)).toEqual(rows.map((r) => r.hash.replace('k1(', 'k2(')));
  });

  test('each value is hashed once while kept, and again after the bound emptied the cache', () => {
    const calls: string[] = [];
    const counting = (value: string) => {
      calls.push(value);
      return `h(${value})`;
    };
    const event = cases[0]?.[1] as AuditEvent;
    const rows = auditEventIndexEntries(event, counting);
    expect(calls).toHaveLength(rows.length);
    expect(auditEventIndexEntries(event, counting)).toEqual(rows);
    expect(calls).toHaveLength(rows.length);
    // Enough other entities to fill the cache: it is emptied, and the first event's values are
    // hashed again, with the same result.
    for (let i = 0; i < AUDIT_INDEX_HASH_CACHE_SIZE; i++)
      auditEventIndexEntries(
        stored({
          interaction: 'read',
          context: clinician,
          entity: `Observation/o-${i}/_history/1`,
          outcome: 'success',
        }),
        counting,
      );
    const before = calls.length;
    expect(auditEventIndexEntries(event, counting)).toEqual(rows);
    expect(calls.length).toBeGreaterThan(before);
  });
});
