/**
 * Security review (issue 14): a resource's data categories ignored what it contains. A laboratory
 * Observation carrying a contained Condition (a diagnosis) was served to another member under a grant
 * for laboratory results alone. The contained resources' categories are now the container's too.
 * (A contained resource cannot carry a sensitivity label of its own: R4 dom-5, refused on write.)
 */
import type { Resource } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { categorizeResource } from '../../src/access/index.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { createEnrolledPatient } from '../support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const LAB = '0x00000000000000000000000000000000000000bB' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const lab: AccessContext = { who: `Organization/${LAB}`, purpose: 'TREAT', member: LAB };
const benKey = privateKeyToAccount(generatePrivateKey());
const HIV = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' };

let vault: TestVault;
let benId: string;

function observationContaining(patientId: string, contained: Resource[]): Resource {
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
    ...(contained.length === 0 ? {} : { contained, focus: [{ reference: `#${contained[0]?.id}` }] }),
  } as Resource;
}

const condition = {
  resourceType: 'Condition',
  id: 'c1',
  code: { text: 'chronic kidney disease' },
  subject: { reference: 'Patient/x' },
} as Resource;
const labelledCondition = { ...condition, meta: { security: [HIV] } } as Resource;

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  benId = await createEnrolledPatient(
    vault.repo,
    { resourceType: 'Patient', name: [{ family: 'Ben' }] },
    benKey,
  );
  vault.grants.add({
    patient: benKey.address,
    grantee: LAB,
    categories: ['laboratory'],
    purposes: ['TREAT'],
  });
});

afterAll(() => vault.close());

describe('contained resources', () => {
  it("add their categories and labels to the container's", () => {
    expect(categorizeResource(observationContaining('p', [labelledCondition])).sort()).toEqual(
      ['conditions', 'hiv', 'laboratory'].sort(),
    );
    expect(categorizeResource(observationContaining('p', []))).toEqual(['laboratory']);
  });

  it('keep a contained diagnosis from riding on a grant for laboratory results alone', async () => {
    const plain = (await vault.repo.create(observationContaining(benId, []), clinician)).id as string;
    const carrying = (await vault.repo.create(observationContaining(benId, [condition]), clinician))
      .id as string;
    expect((await vault.repo.read('Observation', plain, lab)).id).toBe(plain);
    await expect(vault.repo.read('Observation', carrying, lab)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    const found = await vault.repo.search('Observation', new URLSearchParams(), lab, { handling: 'lenient' });
    expect(found.resources.map((r) => r.id)).toEqual([plain]);
    // In-house, and with a grant that covers diagnoses too, it is served.
    expect((await vault.repo.read('Observation', carrying, clinician)).id).toBe(carrying);
    vault.grants.add({
      patient: benKey.address,
      grantee: LAB,
      categories: ['laboratory', 'conditions'],
      purposes: ['TREAT'],
    });
    expect((await vault.repo.read('Observation', carrying, lab)).id).toBe(carrying);
  });

  it('cannot carry a sensitivity label of their own (R4 dom-5): the write is refused', async () => {
    await expect(
      vault.repo.create(observationContaining(benId, [labelledCondition]), clinician),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});
