/**
 * The release plan over a real vault (SQLite, envelope encryption, transparency log) and its
 * access-checked gateway, with ledger grants from a list: k decided over the whole cohort before any
 * page, research-in-general consent read as its own grantee, resources outside the study's
 * categories left out even when the patient's grant covers them.
 */
import type { Resource } from '@medplum/fhirtypes';
import { type Address, keccak256, toBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENROLLING_REGISTRAR, enrolPatientKey } from '../../../test/support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../../../test/support/open-test-vault.js';
import { createVaultExportSource, type ExportSource } from '../../export/index.js';
import { SAFE_HARBOR_PROFILE } from '../safe-harbor-profile.js';
import { GENERAL_RESEARCH_ADDRESS, type Study, studyGrantee } from '../study.js';
import { ReleasePlan } from './release-plan.js';
import type { CohortMember } from './release-ports.js';

const STUDY: Study = {
  id: keccak256(toBytes('careledger-test:release-plan')),
  researcher: privateKeyToAccount(generatePrivateKey()).address,
  protocolHash: keccak256(toBytes('protocol')),
  profileHash: keccak256(toBytes('profile')),
  categories: ['demographics', 'vital-signs'],
  resourceTypes: ['Patient', 'Observation'],
  notBefore: 0,
  notAfter: 2 ** 40,
  k: 2,
  ethicsBoards: [],
  status: 'open',
};
const CLINICIAN = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

let vault: TestVault;
let source: ExportSource;
const cohort: CohortMember[] = [];

function observation(patientId: string, category: 'vital-signs' | 'laboratory'): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: category }] },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: category === 'laboratory' ? '2345-7' : '8867-4' }] },
    subject: { reference: `Patient/${patientId}` },
  };
}

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
  source = createVaultExportSource(vault.repo);
  // Two alike (1970, female, 021) consent to the study; one alike consents to research in general;
  // one (1950, male, 018) is alone in its class.
  const people: [string, string, string, Address][] = [
    ['1970-01-02', 'female', '02139', studyGrantee(STUDY.id)],
    ['1970-03-04', 'female', '02141', studyGrantee(STUDY.id)],
    ['1970-05-06', 'female', '02115', GENERAL_RESEARCH_ADDRESS],
    ['1950-07-08', 'male', '01801', studyGrantee(STUDY.id)],
  ];
  for (const [birthDate, gender, postalCode, grantee] of people) {
    const account = privateKeyToAccount(generatePrivateKey());
    const patient = await vault.repo.create(
      { resourceType: 'Patient', name: [{ family: 'Doe' }], birthDate, gender, address: [{ postalCode }] },
      ENROLLING_REGISTRAR,
    );
    const id = patient.id as string;
    await enrolPatientKey(vault.repo, id, account);
    await vault.repo.create(observation(id, 'vital-signs'), CLINICIAN);
    await vault.repo.create(observation(id, 'laboratory'), CLINICIAN);
    vault.grants.add({
      patient: account.address,
      grantee,
      categories: ['demographics', 'vital-signs', 'laboratory'],
      purposes: ['HRESCH'],
    });
    cohort.push({ patient: account.address, patientIds: [id], creditAddress: account.address });
  }
}, 60_000);

afterAll(() => vault?.close());

async function release(plan: ReleasePlan, type: string): Promise<Resource[]> {
  const until = vault.clock.now.toISOString();
  await plan.decideK(source, until);
  const out: Resource[] = [];
  let after: string | undefined;
  do {
    const page = plan.transformPage(
      await plan.readConsented(source, {
        resourceType: type,
        filters: [],
        until,
        patients: plan.patientIds(),
        ...(after === undefined ? {} : { after }),
        limit: 2,
      }),
    );
    out.push(...page.resources.map((r) => r.resource));
    after = page.next;
  } while (after !== undefined);
  return out;
}

describe('ReleasePlan', () => {
  it('suppresses the class below k, reads general research consent, and keeps to the study categories', async () => {
    const plan = new ReleasePlan({
      study: STUDY,
      profile: SAFE_HARBOR_PROFILE,
      profileHash: STUDY.profileHash,
      studyKey: new Uint8Array(32).fill(5),
      consentBlock: 1n,
      cohort,
      requester: { who: `Organization/${STUDY.researcher}`, purpose: 'HRESCH', member: STUDY.researcher },
      asOf: vault.clock.now,
    });
    const patients = await release(plan, 'Patient');
    const observations = await release(plan, 'Observation');
    expect(patients.map((p) => (p as { birthDate?: string }).birthDate)).toEqual(['1970', '1970', '1970']);
    expect(JSON.stringify(patients)).not.toContain('Doe');
    // Vital signs only: the laboratory results are outside the study, though every grant covers them.
    expect(observations).toHaveLength(3);
    expect(JSON.stringify(observations)).not.toContain('laboratory');
    expect(plan.counts()).toMatchObject({
      cohort: 4,
      contributors: 3,
      records: 6,
      suppressedPatients: 1,
      suppressedRecords: 2,
      smallestReleasedClass: 3,
    });
    expect(plan.contributors()).toHaveLength(3);
  });
});
