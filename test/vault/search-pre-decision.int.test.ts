/**
 * Issue 14 item 5 (existence oracles, search half) and issue 16 over a real vault: a search decides
 * whose records the requester may see before it touches any candidate, and `_count` bounds the work
 * when the storage gives the order. Work is observed by counting the vault's decryptions (the real
 * VaultCrypto, counted), never by timing.
 */
import type { Resource } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { formatSearchBundle } from '../../src/http/routes/search-bundle.js';
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
let quietId: string;
/** `Type/id` of every record decrypted since the last reset. */
let decrypted: string[] = [];

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

const observationsDecrypted = () => decrypted.filter((ref) => ref.startsWith('Observation/')).length;

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  const busyKey = generatePrivateKey();
  busyId = await createPatient('Busy', busyKey);
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
  const decrypt = vault.crypto.decrypt.bind(vault.crypto);
  vault.crypto.decrypt = async (ref, sealed) => {
    decrypted.push(`${ref.resourceType}/${ref.id}`);
    return decrypt(ref, sealed);
  };
}, 300_000);

afterAll(() => vault?.close());

beforeEach(() => {
  decrypted = [];
});

describe('_count bounds the work when the storage gives the order (issue 16)', () => {
  it('decrypts at most the page and one more of 174 matches, and says a next page exists', async () => {
    const found = await search('Observation', { subject: `Patient/${busyId}`, _count: '10' }, clinician);
    expect(found.resources).toHaveLength(10);
    expect(found.more).toBe(true);
    expect(observationsDecrypted()).toBeLessThanOrEqual(11);
    const bundle = formatSearchBundle(found, 'https://node.example', '/fhir/Observation') as {
      link: { relation: string }[];
    };
    expect(bundle.link.map((l) => l.relation)).toContain('next');
  });

  it('another member with a grant: the same bound, the Patient opened once for its ledger address', async () => {
    const found = await search('Observation', { subject: `Patient/${busyId}`, _count: '10' }, lab);
    expect(found.resources).toHaveLength(10);
    expect(observationsDecrypted()).toBeLessThanOrEqual(11);
    expect(decrypted.filter((ref) => ref.startsWith('Patient/'))).toEqual([`Patient/${busyId}`]);
  });

  it('_sort=-_lastUpdated is the index order reversed: the page is the newest, bounded the same way', async () => {
    const all = await search(
      'Observation',
      { subject: `Patient/${busyId}`, _count: '1000', _total: 'accurate' },
      clinician,
    );
    expect(all.total).toBe(MATCHES);
    decrypted = [];
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
    expect(observationsDecrypted()).toBeLessThanOrEqual(16);
  });

  it('a parameter decided after decryption: decrypts until the page is full, no further', async () => {
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
    expect(observationsDecrypted()).toBeLessThanOrEqual(22);
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
  it('another member without a grant: empty, nothing decrypted, whether the patient exists or not', async () => {
    const logBefore = vault.log.size;
    const existing = await search('Observation', { subject: `Patient/${busyId}`, _count: '10' }, other);
    const existingEntries = vault.log.size - logBefore;
    const existingDecrypted = decrypted.length;
    const madeUp = await search('Observation', { subject: 'Patient/no-such-patient', _count: '10' }, other);
    expect(existing.resources).toEqual([]);
    expect(madeUp.resources).toEqual([]);
    expect(existingDecrypted).toBe(0);
    expect(decrypted).toEqual([]);
    // The same number of log entries: the denial in the patient's history replaces the search's own.
    expect(vault.log.size - logBefore - existingEntries).toBe(existingEntries);
    const denials = (await vault.repo.auditTrail(busyId)).filter(
      (r) =>
        r.auditEvent.outcome === '4' && r.auditEvent.agent?.[0]?.who?.reference === `Organization/${OTHER}`,
    );
    expect(denials.length).toBe(1);
  });

  it('another member without a grant: an open search, a Patient search and an identifier search touch nothing', async () => {
    expect((await search('Observation', {}, other)).resources).toEqual([]);
    expect((await search('Patient', {}, other)).resources).toEqual([]);
    expect((await search('Patient', { _id: busyId }, other)).resources).toEqual([]);
    expect(decrypted).toEqual([]);
  });

  it('another member with a grant for one patient touches only that patient', async () => {
    const found = await search('Observation', { _count: '1000' }, lab);
    expect(found.resources).toHaveLength(MATCHES);
    expect(decrypted.filter((ref) => ref.startsWith('Patient/'))).toEqual([`Patient/${busyId}`]);
    expect(observationsDecrypted()).toBe(MATCHES);
    decrypted = [];
    expect((await search('Observation', { subject: `Patient/${quietId}` }, lab)).resources).toEqual([]);
    expect(decrypted).toEqual([]);
  });

  it("a patient's search touches only their own compartment", async () => {
    const found = await search(
      'Observation',
      { _count: '1000' },
      { who: `Patient/${quietId}`, purpose: 'TREAT' },
    );
    expect(found.resources).toHaveLength(1);
    expect(decrypted).toHaveLength(1);
  });
});
