/**
 * Issue 18's release cost: a study release (another member's context: the study's grantee) reads its
 * cohort in many pages, and each page first bounds the compartments its requester may see. That bound
 * lists every patient granting the requester and looks their ledger addresses up in the blind index:
 * per page, it made a release of N patients O(N²) (8.8 CPU ms per resource at 10,000 patients). It is
 * now taken once a minute per export context. Observed over a real vault by counting the Patient
 * blind-index lookups of the real storage (never by timing); the bound stays a bound: a patient who
 * revokes between two pages is refused on the next page by the per-record decision.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { SqliteRecordStorage } from '../../src/storage/sqlite/sqlite-record-storage.js';
import { enrolPatientKey } from '../support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const STUDY = '0x00000000000000000000000000000000000000dD' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

let vault: TestVault;
const patients: string[] = [];
const grants: Hex[] = [];
/** Patient blind-index lookups (the compartments' ledger addresses) since the last reset. */
let patientLookups = 0;
const original = SqliteRecordStorage.prototype.searchCandidates;

function observation(patientId: string): Resource {
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
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value: 7, unit: '%' },
  } as Resource;
}

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  for (const family of ['One', 'Two', 'Three']) {
    const key = generatePrivateKey();
    const id = (await vault.repo.create({ resourceType: 'Patient', name: [{ family }] }, clinician))
      .id as string;
    await enrolPatientKey(vault.repo, id, key);
    for (let i = 0; i < 2; i++) await vault.repo.create(observation(id), clinician);
    patients.push(id);
    grants.push(
      vault.grants.add({
        patient: privateKeyToAccount(key).address,
        grantee: STUDY,
        categories: ['laboratory', 'demographics'],
        purposes: ['HRESCH'],
      }),
    );
  }
  SqliteRecordStorage.prototype.searchCandidates = function (
    this: SqliteRecordStorage,
    ...args: Parameters<typeof original>
  ) {
    if (args[0] === 'Patient') patientLookups += 1;
    return original.apply(this, args);
  };
});

afterAll(() => {
  SqliteRecordStorage.prototype.searchCandidates = original;
  vault?.close();
});

describe('the pages of one export as another member', () => {
  it('bound the visible compartments once a minute, not once a page', async () => {
    // One context object for the whole export, as a job keeps it.
    const study: AccessContext = { who: `Organization/${STUDY}`, purpose: 'HRESCH', member: STUDY };
    const gateway = vault.repo.bulkReadGateway();
    const read = async (after?: string) =>
      gateway.readPage(study, {
        resourceType: 'Observation',
        filters: [],
        patients,
        limit: 2,
        ...(after === undefined ? {} : { after }),
      });
    patientLookups = 0;
    const first = await read();
    const second = await read(first.next);
    const third = await read(second.next);
    expect([first, second, third].flatMap((p) => p.resources)).toHaveLength(6);
    expect(patientLookups).toBe(1);

    // The patient of the third page revokes: read again in the same minute (same bound), their
    // records are refused by the per-record decision.
    const last = third.resources[0]?.patientId as string;
    expect(third.resources.every((r) => r.patientId === last)).toBe(true);
    vault.grants.revoke(grants[patients.indexOf(last)] as Hex);
    const again = await read(second.next);
    expect(again.resources).toEqual([]);
    expect(again.refused.map((r) => r.patientId)).toEqual([last]);
    expect(patientLookups).toBe(1);

    // A minute on, the bound is taken again.
    vault.clock.now = new Date(vault.clock.now.getTime() + 61_000);
    await read();
    expect(patientLookups).toBe(2);
  });
});
