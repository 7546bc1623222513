/**
 * A study release against the real ResearchRegistry on an embedded chain: a research member is
 * admitted, proposes a study with the Safe Harbor profile's hash naming the node as its ethics board,
 * the node approves, the researcher opens it; patients join with their own grants; the release's
 * manifest hash is anchored on chain through the node's outbox, `careledger research verify` checks a
 * download against the contract, and a closed study's release is refused with the reason.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Hex, keccak256, type PublicClient, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChainClient } from '../../src/chain/index.js';
import { Outbox } from '../../src/ledger/index.js';
import { nodePaths } from '../../src/node/node-config.js';
import { ResearchLedger } from '../../src/research/ledger/index.js';
import { hashDeidProfile, SAFE_HARBOR_PROFILE_JSON } from '../../src/research/release/index.js';
import {
  runResearchExport,
  runResearchVerify,
} from '../../src/research/release/research-release-commands.js';
import { studyGrantee } from '../../src/research/study.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyInApp } from '../support/enrol-patient-key.js';
import { findFreePort } from '../support/free-port.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const STUDY = keccak256(toHex('careledger-test:release-on-chain'));
const researcher = privateKeyToAccount(generatePrivateKey());
const identity = { identity: `Organization/${researcher.address}` };
let solo: SoloNode;
let base: string;
let token: string;
let researchDb: ReturnType<typeof openDatabase>;
let researchOutbox: Outbox;
let researchLedger: ResearchLedger;

const STAFF = { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' };

async function create(resource: Record<string, unknown>): Promise<string> {
  const response = await solo.node.app.request(`/fhir/${resource.resourceType}`, {
    method: 'POST',
    headers: STAFF,
    body: JSON.stringify(resource),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

beforeAll(async () => {
  const port = await findFreePort();
  base = `http://127.0.0.1:${port}`;
  solo = await startSoloNode({ port, publicUrl: base });
  token = readFileSync(nodePaths(join(solo.dir, 'solo')).adminToken, 'utf8').trim();
  const admitted = await solo.node.ledger.proposeAdmission({
    account: researcher.address,
    name: 'Lakeside University Research Group',
    role: 'research',
    fhirBaseUrl: '',
    logOrigin: 'research.careledger.test/log',
    logVerifierKey: 'research.careledger.test/log+01234567+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=',
    encryptionPublicKey: '0x',
  });
  await solo.node.ledger.outbox.waitForConfirmation(admitted.id, 30_000);
  researchDb = openDatabase(join(solo.dir, 'research-outbox.db'), outboxMigrations);
  researchOutbox = new Outbox({
    storage: new SqliteOutboxStorage(researchDb),
    account: researcher,
    client: createChainClient(solo.chain.rpcUrl, 31337) as PublicClient,
    chainId: 31337,
  });
  researchOutbox.start(50);
  researchLedger = new ResearchLedger(
    solo.node.deployment,
    researchOutbox,
    createChainClient(solo.chain.rpcUrl, 31337),
  );
  const now = Math.floor(Date.now() / 1000);
  await researchLedger.propose({
    id: STUDY,
    protocolHash: keccak256(toHex('protocol')),
    profileHash: hashDeidProfile(SAFE_HARBOR_PROFILE_JSON),
    categories: ['demographics', 'conditions'],
    resourceTypes: ['Patient', 'Condition'],
    notBefore: now - 3600,
    notAfter: now + 30 * 86_400,
    k: 2,
    ethicsBoards: [solo.node.ledger.outbox.address],
  });
  const approved = await fetch(`${base}/admin/research/studies/${STUDY}/approvals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(approved.status, await approved.clone().text()).toBe(200);
  await researchLedger.open(STUDY);
  // Three patients alike (1971, female, ZIP3 021) and one alone, all joining the study.
  for (const [birthDate, gender, postalCode] of [
    ['1971-05-01', 'female', '02139'],
    ['1971-08-09', 'female', '02141'],
    ['1971-11-30', 'female', '02115'],
    ['1948-02-02', 'male', '01801'],
  ] as const) {
    const key = generatePrivateKey();
    const id = await create({
      resourceType: 'Patient',
      gender,
      birthDate,
      address: [{ postalCode, city: 'Somerville' }],
    });
    await enrolPatientKeyInApp(solo.node.app, id, key);
    await create({
      resourceType: 'Condition',
      subject: { reference: `Patient/${id}` },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
    });
    const signed = await signGrantForNewPatient({
      chainId: 31337,
      consentRegistry: solo.node.deployment.contracts.consentRegistry,
      grantee: studyGrantee(STUDY),
      categories: ['demographics', 'conditions'],
      purposes: ['HRESCH'],
      nowSeconds: Math.floor(Date.now() / 1000) - 60,
      patientKey: key,
    });
    const relayed = await fetch(`${base}/ledger/consent/grants?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: signed.body,
    });
    expect(relayed.status, await relayed.clone().text()).toBeLessThan(300);
  }
  await solo.node.indexer.sync();
  await solo.node.research?.index.sync();
}, 240_000);

afterAll(async () => {
  await researchOutbox?.stop();
  researchDb?.close();
  await solo?.stop();
});

describe('a study release anchored in ResearchRegistry', () => {
  it('anchors the manifest hash on chain, and a download verifies against the contract', async () => {
    const dir = join(solo.dir, 'download');
    const manifest = await runResearchExport({
      nodeUrl: base,
      ...identity,
      studyId: STUDY,
      outDir: dir,
      sleep: () => solo.node.researchRelease.service.idle(),
    });
    expect(manifest.extension.counts).toMatchObject({
      cohort: 4,
      contributors: 3,
      suppressedPatients: 1,
      records: 6,
    });
    const verified = await runResearchVerify({
      nodeUrl: base,
      ...identity,
      manifestPath: join(dir, 'manifest.json'),
      dir,
    });
    expect(verified.anchor).toMatchObject({
      records: 6,
      suppressed: 1,
      consentBlock: manifest.extension.consentBlock,
    });
    const onChain = await researchLedger.release(STUDY, verified.manifestHash as Hex);
    expect(onChain).toMatchObject({
      records: 6,
      suppressed: 1,
      contributors: 3,
      member: solo.node.ledger.outbox.address,
    });
    const file = join(dir, 'Condition-1.ndjson');
    writeFileSync(file, readFileSync(file, 'utf8').replace('44054006', '44054007'));
    await expect(
      runResearchVerify({ nodeUrl: base, ...identity, manifestPath: join(dir, 'manifest.json'), dir }),
    ).rejects.toMatchObject({ details: { reason: 'file-hash-mismatch', file: 'Condition-1.ndjson' } });
  });

  it('refuses a release once the study is closed, saying so', async () => {
    await researchLedger.close(STUDY, 'researcher');
    await solo.node.research?.index.sync();
    const response = await fetch(`${base}/research/studies/${STUDY}/$export`, {
      method: 'POST',
      headers: {
        'x-careledger-identity': identity.identity,
        'x-careledger-purpose': 'HRESCH',
        prefer: 'respond-async',
      },
    });
    expect(response.status).toBe(412);
    expect(await response.json()).toMatchObject({
      issue: [{ diagnostics: 'release refused: the study is closed' }],
    });
  });
});
