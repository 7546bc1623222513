/**
 * Issue 16 (cost that follows the result): a search whose order comes from the storage reads its
 * candidates in keyset pages and stops once its page is full, so a `_count=10` search of a patient
 * with 120 matching records reads about 11 rows from storage, not 120. Work is counted as the rows
 * the real SQLite storage returns, never timed; every answer is compared with the unbounded one.
 */
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import type { CandidateScope, RecordStorage } from '../../src/vault/record-storage.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const MATCHES = 120;
/** Created at one instant: ties on lastUpdated, ordered by id only. */
const TIED = 40;
const strict = { handling: 'strict' } as const;

let vault: TestVault;
let patientId: string;
let tiedPatientId: string;
/** Rows the storage returned to searches since the last reset, and how it was asked. */
let rowsRead = 0;
let asked: CandidateScope[] = [];
/** When set, the storage ignores the limit and the keyset (as an adapter without them would). */
let ignorePaging = false;

function observation(subject: string, value: number): Resource {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
    subject: { reference: `Patient/${subject}` },
    valueQuantity: { value, unit: 'mg/dL' },
  } as Resource;
}

function search(query: Record<string, string>) {
  return vault.repo.search('Observation', new URLSearchParams(query), clinician, strict);
}

const ids = (resources: readonly Resource[]) => resources.map((r) => r.id);

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  patientId = (await vault.repo.create({ resourceType: 'Patient', name: [{ family: 'Busy' }] }, clinician))
    .id as string;
  tiedPatientId = (
    await vault.repo.create({ resourceType: 'Patient', name: [{ family: 'Tied' }] }, clinician)
  ).id as string;
  // One minute apart; every third value is above 100.
  for (let i = 0; i < MATCHES; i++) {
    vault.clock.now = new Date(Date.UTC(2026, 0, 1, 0, i));
    await vault.repo.create(observation(patientId, i % 3 === 0 ? 150 : 50), clinician);
  }
  vault.clock.now = new Date(Date.UTC(2026, 1, 1));
  for (let i = 0; i < TIED; i++)
    await vault.repo.create(observation(tiedPatientId, i % 4 === 0 ? 150 : 50), clinician);
  const storage = (vault.repo as unknown as { store: { storage: RecordStorage } }).store.storage;
  const searchCandidates = storage.searchCandidates.bind(storage);
  storage.searchCandidates = async (resourceType, filters, idList, scope = {}) => {
    asked.push(scope);
    const { limit: _limit, after: _after, ...rest } = scope;
    const rows = await searchCandidates(resourceType, filters, idList, ignorePaging ? rest : scope);
    if (resourceType === 'Observation') rowsRead += rows.length;
    return rows;
  };
}, 300_000);

afterAll(() => vault?.close());

beforeEach(() => {
  rowsRead = 0;
  asked = [];
  ignorePaging = false;
});

describe('a bounded search reads its candidates a page at a time (issue 16)', () => {
  it('_count=10 of 120 matches reads 11 rows, and the page is the first 10 of the full answer', async () => {
    const all = await search({ subject: `Patient/${patientId}`, _count: '1000', _total: 'accurate' });
    expect(all.total).toBe(MATCHES);
    rowsRead = 0;
    const page = await search({ subject: `Patient/${patientId}`, _count: '10' });
    expect(rowsRead).toBe(11);
    expect(ids(page.resources)).toEqual(ids(all.resources).slice(0, 10));
    expect(page.more).toBe(true);
  });

  it('a parameter decided after decryption pages on until the page is full, with the same answer', async () => {
    const all = await search({ subject: `Patient/${patientId}`, _count: '1000', _total: 'accurate' });
    const expected = ids(
      all.resources.filter((r) => (r as { valueQuantity: { value: number } }).valueQuantity.value > 100),
    );
    expect(expected).toHaveLength(MATCHES / 3);
    rowsRead = 0;
    const page = await search({ subject: `Patient/${patientId}`, 'value-quantity': 'gt100', _count: '10' });
    expect(ids(page.resources)).toEqual(expected.slice(0, 10));
    expect(page.more).toBe(true);
    // 11 matches lie in the first 31 records; pages of 11, 22 and 44 rows read 77 of 120.
    expect(asked.length).toBeGreaterThan(1);
    expect(rowsRead).toBeLessThan(MATCHES);
    const offset = await search({
      subject: `Patient/${patientId}`,
      'value-quantity': 'gt100',
      _count: '10',
      _offset: '35',
    });
    expect(ids(offset.resources)).toEqual(expected.slice(35));
    expect(offset.more).toBe(false);
  });

  it('newest first (_sort=-_lastUpdated) pages the other way, with the same answer', async () => {
    const all = await search({ subject: `Patient/${patientId}`, _count: '1000', _total: 'accurate' });
    const newest = [...ids(all.resources)].reverse();
    rowsRead = 0;
    const page = await search({
      subject: `Patient/${patientId}`,
      _sort: '-_lastUpdated',
      _count: '10',
      _offset: '5',
    });
    expect(ids(page.resources)).toEqual(newest.slice(5, 15));
    expect(rowsRead).toBe(16);
    const filtered = await search({
      subject: `Patient/${patientId}`,
      _sort: '-_lastUpdated',
      'value-quantity': 'gt100',
      _count: '25',
    });
    const newestAbove = newest.filter((id) =>
      all.resources.some(
        (r) => r.id === id && (r as { valueQuantity: { value: number } }).valueQuantity.value > 100,
      ),
    );
    expect(ids(filtered.resources)).toEqual(newestAbove.slice(0, 25));
  });

  it('records updated at the same instant page by id: none lost, none repeated', async () => {
    const all = await search({ subject: `Patient/${tiedPatientId}`, _count: '1000', _total: 'accurate' });
    expect(all.total).toBe(TIED);
    const expected = ids(
      all.resources.filter((r) => (r as { valueQuantity: { value: number } }).valueQuantity.value > 100),
    );
    for (const sort of [undefined, '-_lastUpdated']) {
      const page = await search({
        subject: `Patient/${tiedPatientId}`,
        'value-quantity': 'gt100',
        _count: '3',
        _offset: '2',
        ...(sort === undefined ? {} : { _sort: sort }),
      });
      expect(ids(page.resources)).toEqual(expected.slice(2, 5));
      expect(asked.some((scope) => scope.after !== undefined)).toBe(true);
    }
  });

  it('a storage adapter that ignores the limit still gives the same answer (read whole, once)', async () => {
    const bounded = await search({
      subject: `Patient/${patientId}`,
      'value-quantity': 'gt100',
      _count: '10',
    });
    ignorePaging = true;
    asked = [];
    const whole = await search({ subject: `Patient/${patientId}`, 'value-quantity': 'gt100', _count: '10' });
    expect(ids(whole.resources)).toEqual(ids(bounded.resources));
    expect(asked.filter((scope) => scope.limit !== undefined)).toHaveLength(1);
  });
});
