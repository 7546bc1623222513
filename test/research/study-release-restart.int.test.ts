/**
 * A study release interrupted by a node restart: kicked off while the node's job queue is stopped
 * (so the job is only stored), the node is closed and started again on the same folder; the bulk
 * export's recovery runs the job, the release plan is rebuilt from its stored record at the same
 * consent block, and the manifest is sealed and anchored as if nothing had happened.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Hex, keccak256, toBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import {
  hashDeidProfile,
  type ReleaseManifest,
  type ReleasePorts,
  SAFE_HARBOR_PROFILE_JSON,
} from '../../src/research/release/index.js';
import { type ReleaseAnchor, type Study, studyGrantee } from '../../src/research/study.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyInApp } from '../support/enrol-patient-key.js';
import { findFreePort } from '../support/free-port.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const STUDY_ID = keccak256(toBytes('careledger-test:release-restart')) as Hex;
const RESEARCHER = privateKeyToAccount(generatePrivateKey());
const NOW = Math.floor(Date.now() / 1000);
const STUDY: Study = {
  id: STUDY_ID,
  researcher: RESEARCHER.address,
  protocolHash: keccak256(toBytes('protocol')),
  profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
  categories: ['demographics', 'conditions'],
  resourceTypes: ['Patient', 'Condition'],
  notBefore: NOW - 3600,
  notAfter: NOW + 86_400,
  k: 2,
  ethicsBoards: [],
  status: 'open',
};
const RESEARCH = {
  'x-careledger-identity': `Organization/${RESEARCHER.address}`,
  'x-careledger-purpose': 'HRESCH',
};
const anchors: ReleaseAnchor[] = [];
let solo: SoloNode;
let node: RunningNode;
let port: number;
const consentBlocks: bigint[] = [];

const ports: ReleasePorts = {
  study: async (id) => (id === STUDY_ID ? STUDY : undefined),
  cohort: async (study, block) => {
    const research = (node as { research?: { ports: Pick<ReleasePorts, 'cohort'> } }).research;
    if (research === undefined) throw new Error('the solo deployment has a ResearchRegistry');
    return research.ports.cohort(study, block);
  },
  consentBlock: async () => {
    const block = BigInt((await node.indexer.status()).indexedBlock ?? 0);
    consentBlocks.push(block);
    return block;
  },
  anchorRelease: async (anchor) => {
    anchors.push(anchor);
  },
  release: async () => undefined,
};

beforeAll(async () => {
  port = await findFreePort();
  solo = await startSoloNode({ port, publicUrl: `http://127.0.0.1:${port}` }, { researchPorts: ports });
  node = solo.node;
  for (const birthDate of ['1966-01-01', '1966-02-02', '1966-03-03']) {
    const key = generatePrivateKey();
    const created = await node.app.request('/fhir/Patient', {
      method: 'POST',
      headers: { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Patient',
        gender: 'male',
        birthDate,
        name: [{ family: 'Restart' }],
      }),
    });
    const id = ((await created.json()) as { id: string }).id;
    await enrolPatientKeyInApp(node.app, id, key);
    const signed = await signGrantForNewPatient({
      patientKey: key,
      chainId: 31337,
      consentRegistry: node.deployment.contracts.consentRegistry,
      grantee: studyGrantee(STUDY_ID),
      categories: ['demographics', 'conditions'],
      purposes: ['HRESCH'],
      nowSeconds: NOW - 120,
    });
    const relayed = await node.app.request('/ledger/consent/grants?wait=true', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: signed.body,
    });
    expect(relayed.status, await relayed.clone().text()).toBeLessThan(300);
  }
  await node.indexer.sync();
}, 240_000);

afterAll(async () => {
  await node?.close();
  await solo?.chain.stop();
  if (solo !== undefined) rmSync(solo.dir, { recursive: true, force: true });
});

describe('a study release across a node restart', () => {
  it('is run again after the restart, from its record at the same consent block, and sealed', async () => {
    await node.bulkExport.service.stop();
    const kicked = await node.app.request(`/research/studies/${STUDY_ID}/$export`, {
      method: 'POST',
      headers: { ...RESEARCH, prefer: 'respond-async' },
    });
    expect(kicked.status, await kicked.clone().text()).toBe(202);
    const statusPath = new URL(kicked.headers.get('content-location') as string).pathname;
    expect((await node.app.request(statusPath, { headers: RESEARCH })).status).toBe(202);
    await node.close();

    node = await startNode(join(solo.dir, 'solo'), { port, log: () => undefined, researchPorts: ports });
    await node.researchRelease.service.idle();
    const status = await node.app.request(statusPath, { headers: RESEARCH });
    expect(status.status, await status.clone().text()).toBe(200);
    const manifest = (await status.json()) as ReleaseManifest;
    expect(manifest.extension.counts).toMatchObject({ cohort: 3, contributors: 3, records: 3 });
    // The snapshot taken at kick-off, not a new one.
    expect(consentBlocks).toHaveLength(1);
    expect(manifest.extension.consentBlock).toBe(String(consentBlocks[0]));
    expect(anchors.map((a) => a.records)).toEqual([3]);
  });
});
