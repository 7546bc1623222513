/**
 * Two study releases whose rounds cross in the members' job queues (issue 18, decision 0041). Each
 * member runs one export job at a time. The hospital is asked for study 1, then study 2; the lab for
 * study 2, then study 1. When a member sent its k-round entries only from inside its running job, the
 * hospital's first job waited for the lab's entries of round 1, queued at the lab behind round 2's job,
 * which waited for the hospital's round 2 job, queued behind the first: neither round could be decided
 * until the 15-minute deadline failed both. A member now sends its entries when the release is kicked
 * off, whatever its queue holds, so both rounds are decided and all four releases complete.
 */
import { type Hex, keccak256, toHex } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hashDeidProfile,
  type ReleaseManifest,
  SAFE_HARBOR_PROFILE_JSON,
} from '../../src/research/release/index.js';
import { GENERAL_RESEARCH_ADDRESS } from '../../src/research/study.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyInApp } from '../support/enrol-patient-key.js';
import {
  type ResearchConsortium,
  type ResearchMember,
  startResearchConsortium,
} from './research-consortium.js';

const STUDIES = [
  keccak256(toHex('careledger-test:crossing-1')),
  keccak256(toHex('careledger-test:crossing-2')),
];
const CATEGORIES = ['demographics'];
const STAFF = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'content-type': 'application/fhir+json',
};

let net: ResearchConsortium;

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

/** A patient held by both members, who consents to research in general (so to both studies). */
async function volunteer(birthDate: string, now: number): Promise<void> {
  const key = generatePrivateKey();
  for (const member of [net.hospital, net.lab]) {
    const created = await post(
      `${member.url}/fhir/Patient`,
      {
        resourceType: 'Patient',
        gender: 'male',
        birthDate,
        address: [{ state: 'MA', postalCode: '02139' }],
      },
      STAFF,
    );
    await enrolPatientKeyInApp(member.node.app, ((await created.json()) as { id: string }).id, key);
  }
  const grant = await signGrantForNewPatient({
    patientKey: key,
    chainId: 31337,
    consentRegistry: net.deployment.contracts.consentRegistry,
    grantee: GENERAL_RESEARCH_ADDRESS,
    categories: CATEGORIES,
    purposes: ['HRESCH'],
    nowSeconds: now - 120,
  });
  await post(`${net.hospital.url}/ledger/consent/grants?wait=true`, JSON.parse(grant.body));
  await post(`${net.lab.url}/ledger/consent/openings`, { grantId: grant.grantId, ...JSON.parse(grant.body) });
}

beforeAll(async () => {
  net = await startResearchConsortium();
  const now = Math.floor(Date.now() / 1000);
  await volunteer('1958-04-01', now);
  await volunteer('1958-09-09', now);
  for (const [i, id] of STUDIES.entries()) {
    await post(
      `${net.research.url}/admin/research/studies`,
      {
        id,
        protocol: { title: `Crossing ${i + 1}`, summary: 'Records without names or exact dates.' },
        profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
        categories: CATEGORIES,
        resourceTypes: ['Patient'],
        notBefore: new Date((now - 3600) * 1000).toISOString(),
        notAfter: new Date((now + 30 * 86_400) * 1000).toISOString(),
        k: 2,
        ethicsBoards: [net.hospital.account.address],
      },
      admin(net.research),
    );
  }
  await net.sync();
  for (const id of STUDIES)
    await post(`${net.hospital.url}/admin/research/studies/${id}/approvals`, {}, admin(net.hospital));
  await net.sync();
  for (const id of STUDIES)
    await post(`${net.research.url}/admin/research/studies/${id}/open`, {}, admin(net.research));
  await net.sync();
}, 600_000);

afterAll(async () => {
  await net?.stop();
});

/** Kicks a study's release off at a member under a round, as the research member's node does. */
async function kickOff(member: ResearchMember, study: Hex, round: string): Promise<string> {
  const response = await fetch(`${member.url}/research/studies/${study}/$export?round=${round}`, {
    method: 'POST',
    headers: {
      'x-careledger-identity': `Organization/${net.research.account.address}`,
      'x-careledger-purpose': 'HRESCH',
      prefer: 'respond-async',
    },
  });
  expect(response.status, await response.clone().text()).toBe(202);
  return new URL(response.headers.get('content-location') as string).pathname;
}

describe('two release rounds crossing in the members’ job queues', () => {
  it('are both decided, and every release completes', async () => {
    const [first, second] = STUDIES as [Hex, Hex];
    const rounds = { [first]: 'crossing-round-0001', [second]: 'crossing-round-0002' };
    const jobs: { member: ResearchMember; path: string; round: string }[] = [];
    for (const [member, order] of [
      [net.hospital, [first, second]],
      [net.lab, [second, first]],
    ] as const) {
      for (const study of order) {
        const round = rounds[study] as string;
        jobs.push({ member, round, path: await kickOff(member, study, round) });
      }
    }
    await Promise.all([
      net.hospital.node.researchRelease.service.idle(),
      net.lab.node.researchRelease.service.idle(),
    ]);
    for (const { member, path, round } of jobs) {
      const status = await member.node.app.request(path, {
        headers: {
          'x-careledger-identity': `Organization/${net.research.account.address}`,
          'x-careledger-purpose': 'HRESCH',
        },
      });
      expect(status.status, await status.clone().text()).toBe(200);
      const manifest = (await status.json()) as ReleaseManifest;
      expect(manifest.extension.round).toMatchObject({ id: round, patients: 2, suppressedPatients: 0 });
      expect(manifest.extension.counts).toMatchObject({ records: 2, contributors: 2 });
    }
  }, 120_000);
});
