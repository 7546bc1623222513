/**
 * Issue 14 item 5 (existence oracles, search half) and issue 16 over a real vault: a search decides
 * whose records the requester may see before it touches any candidate, and `_count` bounds the work
 * when the storage gives the order. Work is observed by counting the records the vault opens (the
 * real store, counted), never by timing.
 */
import type { Resource } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LEDGER_ADDRESS_SYSTEM } from '../../src/access/index.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { formatSearchBundle } from '../../src/http/routes/search-bundle.js';
import type { StoredVersion } from '../../src/vault/record-storage.js';
import { enrolPatientKey } from '../support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const LAB = '0x00000000000000000000000000000000000000bB' as const;
const OTHER = '0x00000000000000000000000000000000000000Cc' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const lab: AccessContext = { who: `Organization/${LAB}`, purpose: 'TREAT', member: LAB };
const other: AccessContext = { who: `Organization/${OTHER}`, purpose: 'TREAT', member: OTHER };
const MATCHES = 174;
const strict = { handling: 'strict' } as const;

let vault: TestVault;
let busyId: string;
let busyAddress: string;
let quietId: string;
/** `Type/id` of every record opened (decrypted or taken from the cache) since the last reset. */
let opened: string[] = [];

function observation(patientId: string, value: number): Resource {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value, unit: 'mg/dL' },
  } as Resource;
}

async function createPatient(family: string, key: `0x${string}`): Promise<string> {
  const id = (await vault.repo.create({ resourceType: 'Patient', name: [{ family }] }, clinician))
    .id as string;
  await enrolPatientKey(vault.repo, id, key);
  return id;
}

function search(type: string, query: Record<string, string>, who: AccessContext) {
  return vault.repo.search(type, new URLSearchParams(query), who, strict);
}

const observationsOpened = () => opened.filter((ref) => ref.startsWith('Observation/')).length;

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  const busyKey = generatePrivateKey();
  busyId = await createPatient('Busy', busyKey);
  busyAddress = privateKeyToAccount(busyKey).address;
  quietId = await createPatient('Quiet', generatePrivateKey());
  // One minute apart, so `_lastUpdated` orders them; every other value is above 100.
  for (let i = 0; i < MATCHES; i++) {
    vault.clock.now = new Date(Date.UTC(2026, 0, 1, 0, i));
    await vault.repo.create(observation(busyId, i % 2 === 0 ? 150 : 50), clinician);
  }
  await vault.repo.create(observation(quietId, 90), clinician);
  vault.grants.add({
    patient: privateKeyToAccount(busyKey).address,
    grantee: LAB,
    categories: ['laboratory', 'demographics'],
    purposes: ['TREAT'],
  });
  // Every record the vault opens, whether it decrypts it or finds it in its cache of decrypted
  // versions (decision 0017): the work a search does on records, counted where it happens.
  const store = (vault.repo as unknown as { store: { open: (v: StoredVersion) => Promise<Resource> } }).store;
  const openRecord = store.open.bind(store);
  store.open = (version) => {
    opened.push(`${version.resourceType}/${version.id}`);
    return openRecord(version);
  };
}, 300_000);

afterAll(() => vault?.close());

beforeEach(() => {
  opened = [];
});

describe('_count bounds the work when the storage gives the order (issue 16)', () => {
  it('opens at most the page and one more of 174 matches, and says a next page exists', async () => {
    const found = await search('Observation', { subject: `Patient/${busyId}`, _count: '10' }, clinician);
    expect(found.resources).toHaveLength(10);
    expect(found.more).toBe(true);
    expect(observationsOpened()).toBeLessThanOrEqual(11);
    const bundle = formatSearchBundle(found, 'https://node.example', '/fhir/Observation') as {
      link: { relation: string }[];
    };
    expect(bundle.link.map((l) => l.relation)).toContain('next');
  });

  it('another member with a grant: the same bound, the Patient opened once for its ledger address', async () => {
    const found = await search('Observation', { subject: `Patient/${busyId}`, _count: '10' }, lab);
    expect(found.resources).toHaveLength(10);
    expect(observationsOpened()).toBeLessThanOrEqual(11);
    expect(opened.filter((ref) => ref.startsWith('Patient/'))).toEqual([`Patient/${busyId}`]);
  });

  it('_sort=-_lastUpdated is the index order reversed: the page is the newest, bounded the same way', async () => {
    const all = await search(
      'Observation',
      { subject: `Patient/${busyId}`, _count: '1000', _total: 'accurate' },
      clinician,
    );
    expect(all.total).toBe(MATCHES);
    opened = [];
    const newest = await search(
      'Observation',
      { subject: `Patient/${busyId}`, _sort: '-_lastUpdated', _count: '10', _offset: '5' },
      clinician,
    );
    expect(newest.resources.map((r) => r.id)).toEqual(
      all.resources
        .map((r) => r.id)
        .reverse()
        .slice(5, 15),
    );
    expect(observationsOpened()).toBeLessThanOrEqual(16);
  });

  it('a parameter decided after decryption: opens records until the page is full, no further', async () => {
    const found = await search(
      'Observation',
      { subject: `Patient/${busyId}`, 'value-quantity': 'gt100', _count: '10' },
      clinician,
    );
    expect(found.resources).toHaveLength(10);
    expect(
      found.resources.every((r) => (r as { valueQuantity: { value: number } }).valueQuantity.value > 100),
    ).toBe(true);
    // Every other record matches: 21 records hold 11 matches.
    expect(observationsOpened()).toBeLessThanOrEqual(22);
  });

  it('the last page has no next link', async () => {
    const found = await search(
      'Observation',
      { subject: `Patient/${busyId}`, _count: '10', _offset: String(MATCHES - 4) },
      clinician,
    );
    expect(found.resources).toHaveLength(4);
    expect(found.more).toBe(false);
  });
});

describe('a requester with no right to a patient gets what a made-up patient gets (issue 14 item 5)', () => {
  it('another member without a grant: empty, nothing opened, whether the patient exists or not', async () => {
    const logBefore = vault.log.size;
    const existing = await search('Observation', { subject: `Patient/${busyId}`, _count: '10' }, other);
    const existingEntries = vault.log.size - logBefore;
    const existingOpened = opened.length;
    const madeUp = await search('Observation', { subject: 'Patient/no-such-patient', _count: '10' }, other);
    expect(existing.resources).toEqual([]);
    expect(madeUp.resources).toEqual([]);
    expect(existingOpened).toBe(0);
    expect(opened).toEqual([]);
    // The same number of log entries: the denial in the patient's history replaces the search's own.
    expect(vault.log.size - logBefore - existingEntries).toBe(existingEntries);
    const denials = (await vault.repo.auditTrail(busyId)).filter(
      (r) =>
        r.auditEvent.outcome === '4' && r.auditEvent.agent?.[0]?.who?.reference === `Organization/${OTHER}`,
    );
    expect(denials.length).toBe(1);
  });

  it('another member without a grant: an identifier search leaves a denial, as many entries as an unknown identifier', async () => {
    const byAddress = (address: string) =>
      search('Patient', { identifier: `${LEDGER_ADDRESS_SYSTEM}|${address}` }, other);
    const logBefore = vault.log.size;
    expect((await byAddress(busyAddress)).resources).toEqual([]);
    const existingEntries = vault.log.size - logBefore;
    expect((await byAddress(privateKeyToAccount(generatePrivateKey()).address)).resources).toEqual([]);
    expect(vault.log.size - logBefore - existingEntries).toBe(existingEntries);
    expect(opened).toEqual([]);
    const denials = (await vault.repo.auditTrail(busyId)).filter(
      (r) =>
        r.auditEvent.outcome === '4' &&
        r.auditEvent.agent?.[0]?.who?.reference === `Organization/${OTHER}` &&
        r.auditEvent.entity?.some((e) => e.what?.reference === 'Patient?identifier'),
    );
    expect(denials.length).toBe(1);
  });

  it('another member without a grant: an open search, a Patient search and an identifier search touch nothing', async () => {
    expect((await search('Observation', {}, other)).resources).toEqual([]);
    expect((await search('Patient', {}, other)).resources).toEqual([]);
    expect((await search('Patient', { _id: busyId }, other)).resources).toEqual([]);
    expect(opened).toEqual([]);
  });

  it('another member with a grant for one patient touches only that patient', async () => {
    const found = await search('Observation', { _count: '1000' }, lab);
    expect(found.resources).toHaveLength(MATCHES);
    expect(opened.filter((ref) => ref.startsWith('Patient/'))).toEqual([`Patient/${busyId}`]);
    expect(observationsOpened()).toBe(MATCHES);
    opened = [];
    expect((await search('Observation', { subject: `Patient/${quietId}` }, lab)).resources).toEqual([]);
    expect(opened).toEqual([]);
  });

  it('a bulk read (export) by another member without a grant opens nothing, and notes the refusal', async () => {
    const page = await vault.repo
      .bulkReadGateway()
      .readPage(other, { resourceType: 'Observation', filters: [], limit: 1000 });
    expect(page.resources).toEqual([]);
    expect(page.refused.map((r) => r.patientId).sort()).toEqual([busyId, quietId].sort());
    expect(opened).toEqual([]);
  });

  it("a patient's search touches only their own compartment", async () => {
    const found = await search(
      'Observation',
      { _count: '1000' },
      { who: `Patient/${quietId}`, purpose: 'TREAT' },
    );
    expect(found.resources).toHaveLength(1);
    expect(opened).toHaveLength(1);
  });
});
