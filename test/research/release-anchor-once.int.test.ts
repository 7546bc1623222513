/**
 * A release's manifest is anchored once (issue 18 item 4). The process that ran the job seals the
 * manifest and sends its anchor; a status request arriving while that transaction was being mined
 * sent a second one, which ResearchRegistry reverts (ReleaseExists): the node logged "anchoring
 * failed" (seen in the demo at the pharmacy) and spent a transaction. Here the first anchor is held
 * unmined while the status is asked: it answers "anchoring" and sends nothing; once mined, the status
 * gives the manifest, and one anchor was sent in all.
 */
import { rmSync } from 'node:fs';
import { type Hex, keccak256, toBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../src/errors/index.js';
import type { RunningNode } from '../../src/node/start-node.js';
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

const STUDY_ID = keccak256(toBytes('careledger-test:release-anchor-once')) as Hex;
const RESEARCHER = privateKeyToAccount(generatePrivateKey());
const NOW = Math.floor(Date.now() / 1000);
const STUDY: Study = {
  id: STUDY_ID,
  researcher: RESEARCHER.address,
  protocolHash: keccak256(toBytes('protocol')),
  profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
  categories: ['demographics'],
  resourceTypes: ['Patient'],
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

/** ResearchRegistry's anchors as the chain keeps them: a second anchor of one manifest reverts. */
const anchored = new Set<Hex>();
const sent: ReleaseAnchor[] = [];
let mine: () => void = () => undefined;
const mined = new Promise<void>((resolve) => {
  mine = resolve;
});
let firstSent: () => void = () => undefined;
const sending = new Promise<void>((resolve) => {
  firstSent = resolve;
});

let solo: SoloNode;
let node: RunningNode;
const ports: ReleasePorts = {
  study: async (id) => (id === STUDY_ID ? STUDY : undefined),
  cohort: async (study, block) => {
    const research = (node as { research?: { ports: Pick<ReleasePorts, 'cohort'> } }).research;
    if (research === undefined) throw new Error('the solo deployment has a ResearchRegistry');
    return research.ports.cohort(study, block);
  },
  consentBlock: async () => BigInt((await node.indexer.status()).indexedBlock ?? 0),
  anchorRelease: async (anchor) => {
    sent.push(anchor);
    // A later transaction of the same member is mined after the first: it finds the manifest anchored.
    if (sent.length > 1 || anchored.has(anchor.manifestHash))
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'ReleaseExists: the manifest is anchored');
    if (confirmation === 'lost') {
      // Mined, but the node stopped waiting for the receipt first (a loaded chain).
      anchored.add(anchor.manifestHash);
      throw new CareLedgerError('ERR_UPSTREAM', 'research anchorRelease was not confirmed in time');
    }
    firstSent();
    // The first is mined once the test lets the chain go on.
    await mined;
    anchored.add(anchor.manifestHash);
  },
  release: async (studyId, manifestHash) =>
    anchored.has(manifestHash)
      ? {
          studyId,
          manifestHash,
          profileHash: STUDY.profileHash,
          consentBlock: 1n,
          records: 2,
          suppressed: 0,
          member: node.ledger.address,
        }
      : undefined,
};
/** How the chain answers the first anchor of a manifest: held until mined, or mined but unconfirmed. */
let confirmation: 'held' | 'lost' = 'held';

beforeAll(async () => {
  const port = await findFreePort();
  solo = await startSoloNode({ port, publicUrl: `http://127.0.0.1:${port}` }, { researchPorts: ports });
  node = solo.node;
  for (const birthDate of ['1971-01-01', '1971-02-02']) {
    const key = generatePrivateKey();
    const created = await node.app.request('/fhir/Patient', {
      method: 'POST',
      headers: { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', gender: 'female', birthDate }),
    });
    const id = ((await created.json()) as { id: string }).id;
    await enrolPatientKeyInApp(node.app, id, key);
    const signed = await signGrantForNewPatient({
      patientKey: key,
      chainId: 31337,
      consentRegistry: node.deployment.contracts.consentRegistry,
      grantee: studyGrantee(STUDY_ID),
      categories: ['demographics'],
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
  mine();
  await node?.close();
  await solo?.chain.stop();
  if (solo !== undefined) rmSync(solo.dir, { recursive: true, force: true });
});

describe('the anchor of a release', () => {
  it('is sent once, though the status is asked while it is being mined', async () => {
    const kicked = await node.app.request(`/research/studies/${STUDY_ID}/$export`, {
      method: 'POST',
      headers: { ...RESEARCH, prefer: 'respond-async' },
    });
    expect(kicked.status, await kicked.clone().text()).toBe(202);
    const statusPath = new URL(kicked.headers.get('content-location') as string).pathname;
    // The job is done and its manifest sealed; its anchor is on its way to the chain.
    await sending;
    const meanwhile = await node.app.request(statusPath, { headers: RESEARCH });
    expect(meanwhile.status).toBe(202);
    expect(meanwhile.headers.get('x-progress')).toBe('anchoring the manifest on chain');
    expect(sent).toHaveLength(1);
    mine();
    await node.researchRelease.service.idle();
    const status = await node.app.request(statusPath, { headers: RESEARCH });
    expect(status.status, await status.clone().text()).toBe(200);
    const manifest = (await status.json()) as ReleaseManifest;
    expect(manifest.extension.counts).toMatchObject({ cohort: 2, records: 2 });
    expect(sent).toHaveLength(1);
  });

  it('counts as sent once the chain holds it, though its receipt was not awaited to the end', async () => {
    confirmation = 'lost';
    sent.length = 0;
    const kicked = await node.app.request(`/research/studies/${STUDY_ID}/$export`, {
      method: 'POST',
      headers: { ...RESEARCH, prefer: 'respond-async' },
    });
    expect(kicked.status, await kicked.clone().text()).toBe(202);
    const statusPath = new URL(kicked.headers.get('content-location') as string).pathname;
    await node.researchRelease.service.idle();
    // The manifest is on chain from this member: the status says done and sends nothing again.
    const status = await node.app.request(statusPath, { headers: RESEARCH });
    expect(status.status, await status.clone().text()).toBe(200);
    expect(sent).toHaveLength(1);
  });
});
