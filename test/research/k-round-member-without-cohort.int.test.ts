/**
 * A release round where one member holding data holds none of the cohort (issue 18): the demo's
 * hospital held the study's two volunteers and the lab, pharmacy and insurer none, and the hospital's
 * release stayed at "starting". The members without the cohort read no page, so they never sent their
 * (empty) entries to the k round's coordinator; their jobs completed, and the hospital waited inside
 * its first page for a round that could not be decided. Here the hospital holds two consenting
 * patients and the lab none: the lab's release takes part in the round (its manifest names it), and
 * the hospital's completes with both patients' records.
 */
import { keccak256, toHex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hashDeidProfile,
  type ReleaseManifest,
  SAFE_HARBOR_PROFILE_JSON,
} from '../../src/research/release/index.js';
import { studyGrantee } from '../../src/research/study.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyInApp } from '../support/enrol-patient-key.js';
import {
  type ResearchConsortium,
  type ResearchMember,
  startResearchConsortium,
} from './research-consortium.js';

const STUDY = keccak256(toHex('careledger-test:k-round-member-without-cohort'));
const CATEGORIES = ['demographics', 'laboratory'];
const STAFF = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'content-type': 'application/fhir+json',
};

let net: ResearchConsortium;
const logLines: string[] = [];

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(response.status, `${url}: ${await response.clone().text()}`).toBeLessThan(300);
  return response;
}

const admin = (m: ResearchMember) => ({ authorization: `Bearer ${m.adminToken}` });

/** A patient of the hospital with one HbA1c result, who joins the study with a key of their own. */
async function volunteer(birthDate: string, postalCode: string, now: number): Promise<void> {
  const patient = (await (
    await post(
      `${net.hospital.url}/fhir/Patient`,
      {
        resourceType: 'Patient',
        gender: 'female',
        birthDate,
        address: [{ city: 'Cambridge', state: 'MA', postalCode }],
      },
      STAFF,
    )
  ).json()) as { id: string };
  await post(
    `${net.hospital.url}/fhir/Observation`,
    {
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
      subject: { reference: `Patient/${patient.id}` },
      effectiveDateTime: '2026-10-02',
      valueQuantity: { value: 7.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
    },
    STAFF,
  );
  const key = generatePrivateKey();
  await enrolPatientKeyInApp(net.hospital.node.app, patient.id, key);
  const grant = await signGrantForNewPatient({
    patientKey: key,
    chainId: 31337,
    consentRegistry: net.deployment.contracts.consentRegistry,
    grantee: studyGrantee(STUDY),
    categories: CATEGORIES,
    purposes: ['HRESCH'],
    nowSeconds: now - 120,
  });
  await post(`${net.hospital.url}/ledger/consent/grants?wait=true`, JSON.parse(grant.body));
}

beforeAll(async () => {
  net = await startResearchConsortium((line) => logLines.push(line));
  const now = Math.floor(Date.now() / 1000);
  // Same birth year, sex and ZIP3: one class of two, which holds k = 2.
  await volunteer('1961-03-08', '02139', now);
  await volunteer('1961-11-21', '02141', now);
  await post(
    `${net.research.url}/admin/research/studies`,
    {
      id: STUDY,
      protocol: { title: 'HbA1c at one member', summary: 'Records without names or exact dates.' },
      profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
      categories: CATEGORIES,
      resourceTypes: ['Patient', 'Observation'],
      notBefore: new Date((now - 3600) * 1000).toISOString(),
      notAfter: new Date((now + 30 * 86_400) * 1000).toISOString(),
      k: 2,
      ethicsBoards: [net.hospital.account.address],
    },
    admin(net.research),
  );
  await net.sync();
  await post(`${net.hospital.url}/admin/research/studies/${STUDY}/approvals`, {}, admin(net.hospital));
  await net.sync();
  await post(`${net.research.url}/admin/research/studies/${STUDY}/open`, {}, admin(net.research));
  await net.sync();
}, 600_000);

afterAll(async () => {
  await net?.stop();
});

interface RoundView {
  id: string;
  state: 'running' | 'done' | 'failed';
  members: { address: string; name: string; state: string; manifest?: ReleaseManifest; error?: string }[];
}

const roundOf = async (id: string): Promise<RoundView> =>
  (await (
    await fetch(`${net.research.url}/admin/research/releases/${id}`, { headers: admin(net.research) })
  ).json()) as RoundView;

describe('a release round where a member holding data holds none of the cohort', () => {
  it('has that member take part in the k round, so the member holding the cohort completes', async () => {
    const started = await post(
      `${net.research.url}/admin/research/releases`,
      { studyId: STUDY },
      admin(net.research),
    );
    const id = ((await started.json()) as RoundView).id;
    // The lab first: its release ends only once it has sent its entries and the round is decided.
    await net.lab.node.researchRelease.service.idle();
    const atLab = (await roundOf(id)).members.find((m) => m.name === net.lab.organization);
    expect(atLab?.state, atLab?.error).toBe('done');
    const lab = atLab?.manifest as ReleaseManifest;
    expect(lab.extension.round).toMatchObject({
      id,
      members: expect.arrayContaining([net.hospital.account.address, net.lab.account.address]),
      patients: 2,
      suppressedPatients: 0,
    });
    expect(lab.extension.counts).toMatchObject({ records: 0, contributors: 0 });
    await net.hospital.node.researchRelease.service.idle();
    const round = await roundOf(id);
    expect(round.state, JSON.stringify(round.members.map((m) => m.error))).toBe('done');
    const hospital = round.members.find((m) => m.name === net.hospital.organization)
      ?.manifest as ReleaseManifest;
    expect(hospital.extension.round?.id).toBe(id);
    expect(hospital.extension.counts).toMatchObject({
      cohort: 2,
      contributors: 2,
      records: 4,
      suppressedPatients: 0,
    });
    expect(logLines.join('\n')).not.toMatch(/1961-03-08|1961-11-21|02139|02141/);
  });

  it('says, while the round waits for another member, that it is deciding k with them', async () => {
    const round = 'waiting-round-0001';
    const research = {
      'x-careledger-identity': `Organization/${net.research.account.address}`,
      'x-careledger-purpose': 'HRESCH',
    };
    const kickOff = async (member: ResearchMember) => {
      const response = await fetch(`${member.url}/research/studies/${STUDY}/$export?round=${round}`, {
        method: 'POST',
        headers: { ...research, prefer: 'respond-async' },
      });
      expect(response.status, await response.clone().text()).toBe(202);
      return new URL(response.headers.get('content-location') as string).pathname;
    };
    // Only the hospital is asked: the round cannot be decided without the lab.
    const atHospital = await kickOff(net.hospital);
    const waiting = await net.hospital.node.app.request(atHospital, { headers: research });
    expect(waiting.status).toBe(202);
    expect(waiting.headers.get('x-progress')).toBe('deciding k with the other members holding data');
    await kickOff(net.lab);
    await Promise.all([
      net.hospital.node.researchRelease.service.idle(),
      net.lab.node.researchRelease.service.idle(),
    ]);
    expect((await net.hospital.node.app.request(atHospital, { headers: research })).status).toBe(200);
  });
});
