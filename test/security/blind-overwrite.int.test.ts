/**
 * Security review (issue 14): an in-house clinician without the patient's grant for a sensitive label
 * could not read an HIV-labelled Observation, but could overwrite it by PUT (a version without the
 * label: a sensitivity downgrade, and the record lost), move it to another patient, delete it, or do
 * the same in a transaction. The version a write replaces must now be one the requester may see; with
 * the grant, or under break-glass, the same writes go through.
 */
import type { Resource } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { createEnrolledPatient } from '../support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const annKey = privateKeyToAccount(generatePrivateKey());

let vault: TestVault;
let annId: string;
let benId: string;

function observation(patientId: string, hiv: boolean): Resource {
  return {
    resourceType: 'Observation',
    status: 'final',
    ...(hiv
      ? { meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }] } }
      : {}),
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: hiv ? '75622-1' : '2345-7' }] },
    subject: { reference: `Patient/${patientId}` },
  } as Resource;
}

async function refusal(task: Promise<unknown>): Promise<string> {
  return task.then(
    () => 'written',
    (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
  );
}

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  annId = await createEnrolledPatient(
    vault.repo,
    { resourceType: 'Patient', name: [{ family: 'Ann' }] },
    annKey,
  );
  benId = (await vault.repo.create({ resourceType: 'Patient', name: [{ family: 'Ben' }] }, clinician))
    .id as string;
});

afterAll(() => vault.close());

describe('writes over a record the writer may not see', () => {
  it('refuses a PUT, a move to another patient, a delete and a transaction, audited; the record stays', async () => {
    const hivId = (await vault.repo.create(observation(annId, true), clinician)).id as string;
    const blind =
      'ERR_FORBIDDEN: access refused: may not update what it may not see: no consent in force (no-grant)';
    expect(await refusal(vault.repo.update({ ...observation(annId, false), id: hivId }, clinician))).toBe(
      blind,
    );
    expect(await refusal(vault.repo.update({ ...observation(benId, false), id: hivId }, clinician))).toBe(
      blind,
    );
    expect(await refusal(vault.repo.delete('Observation', hivId, clinician))).toBe(
      'ERR_FORBIDDEN: access refused: may not delete what it may not see: no consent in force (no-grant)',
    );
    expect(
      await refusal(
        vault.repo.transaction(
          {
            resourceType: 'Bundle',
            type: 'transaction',
            entry: [
              {
                resource: { ...observation(annId, false), id: hivId },
                request: { method: 'PUT', url: `Observation/${hivId}` },
              },
            ],
          },
          clinician,
        ),
      ),
    ).toBe(blind);
    const denials = (await vault.repo.auditTrail(annId)).filter((r) =>
      String(r.auditEvent.outcomeDesc ?? '').includes('may not'),
    );
    expect(denials.length).toBe(4);
    // With the patient's grant the clinician sees it, and the record is still version 1, labelled.
    vault.grants.add({
      patient: annKey.address,
      grantee: HOSPITAL,
      categories: ['hiv'],
      purposes: ['TREAT'],
    });
    const kept = await vault.repo.read('Observation', hivId, clinician);
    expect(kept.meta?.versionId).toBe('1');
    expect(kept.meta?.security?.[0]?.code).toBe('HIV');
    expect(
      (await vault.repo.update({ ...observation(annId, true), id: hivId }, clinician)).resource.meta
        ?.versionId,
    ).toBe('2');
  });
});

describe('history of a record moved between patients', () => {
  it("judges each version under its own patient's consent, not the current one's", async () => {
    const LAB = '0x00000000000000000000000000000000000000bB' as const;
    const lab: AccessContext = { who: `Organization/${LAB}`, purpose: 'TREAT', member: LAB };
    const carlKey = privateKeyToAccount(generatePrivateKey());
    const dinaKey = privateKeyToAccount(generatePrivateKey());
    const carl = await createEnrolledPatient(
      vault.repo,
      { resourceType: 'Patient', name: [{ family: 'Carl' }] },
      carlKey,
    );
    const dina = await createEnrolledPatient(
      vault.repo,
      { resourceType: 'Patient', name: [{ family: 'Dina' }] },
      dinaKey,
    );
    // Filed under Carl by mistake, then moved to Dina; only Dina granted the lab her results.
    const id = (await vault.repo.create(observation(carl, false), clinician)).id as string;
    await vault.repo.update({ ...observation(dina, false), id }, clinician);
    vault.grants.add({
      patient: dinaKey.address,
      grantee: LAB,
      categories: ['laboratory'],
      purposes: ['TREAT'],
    });
    const versions = await vault.repo.history('Observation', id, lab);
    expect(versions.map((v) => v.versionId)).toEqual([2]);
    expect(await refusal(vault.repo.vread('Observation', id, 1, lab))).toBe(
      `ERR_NOT_FOUND: Observation/${id} does not exist`,
    );
  });
});
