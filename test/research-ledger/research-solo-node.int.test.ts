/**
 * Research at a real member node (embedded anvil, SQLite vault): a research member is admitted and
 * proposes a study naming the node as its ethics board; the node's operator approves it; patients
 * join with their own EIP-712 grants (nobody else is in); the cohort is exactly the joined local
 * patients; feasibility counts them with small cells suppressed; a release credits them on per-study
 * addresses the patient sees in GET /research/credits; a patient who leaves is out of the next cohort;
 * the CLI lists, shows and votes through the same routes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { bytesToHex, type Hex, hexToBytes, keccak256, type PublicClient, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChainClient } from '../../src/chain/index.js';
import { enrolLedgerKeyOverHttp } from '../../src/enrolment/index.js';
import { MemberClient } from '../../src/exchange/index.js';
import { createPatientKeystore } from '../../src/identity/index.js';
import { Outbox, saveDeployment } from '../../src/ledger/index.js';
import { nodePaths } from '../../src/node/node-config.js';
import { ResearchLedger } from '../../src/research/ledger/index.js';
import { registerResearchCommands } from '../../src/research/ledger/research-commands.js';
import { hashDeidProfile } from '../../src/research/release/release-manifest.js';
import { SAFE_HARBOR_PROFILE_JSON } from '../../src/research/safe-harbor-profile.js';
import { type Study, studyGrantee } from '../../src/research/study.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const STUDY = keccak256(toHex('lakeside-diabetes-2026'));
const DIABETES = 'http://snomed.info/sct|44054006';
const PROFILE = hashDeidProfile(SAFE_HARBOR_PROFILE_JSON);
const researcher = privateKeyToAccount(generatePrivateKey());

let solo: SoloNode;
let token: string;
let researchOutbox: Outbox;
let researchDb: ReturnType<typeof openDatabase>;
let researchLedger: ResearchLedger;
const patients: { id: string; key: Hex; revoke?: () => Promise<string> }[] = [];

const dev = (who: string, roles?: string) => ({
  'x-careledger-identity': who,
  ...(roles === undefined ? {} : { 'x-careledger-roles': roles }),
  'content-type': 'application/json',
});
const http = async (
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) => {
  const response = await fetch(`${solo.node.url}${path}`, { ...init, method: init.method ?? 'GET' });
  const text = await response.text();
  return { status: response.status, json: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
};

async function createPatient(withDiabetes: boolean): Promise<{ id: string; key: Hex }> {
  const created = await http('/fhir/Patient', {
    method: 'POST',
    headers: dev('Practitioner/registrar', 'registrar'),
    body: JSON.stringify({ resourceType: 'Patient', gender: 'female', birthDate: '1971-05-01' }),
  });
  const id = created.json.id as string;
  const key = generatePrivateKey();
  await enrolLedgerKeyOverHttp({
    fhirBaseUrl: `${solo.node.url}/fhir`,
    patientId: id,
    account: privateKeyToAccount(key),
    headers: dev('Practitioner/registrar', 'registrar'),
  });
  if (withDiabetes) {
    const condition = await http('/fhir/Condition', {
      method: 'POST',
      headers: dev('Practitioner/dr-1', 'clinician'),
      body: JSON.stringify({
        resourceType: 'Condition',
        subject: { reference: `Patient/${id}` },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
      }),
    });
    expect(condition.status).toBe(201);
  }
  return { id, key };
}

beforeAll(async () => {
  solo = await startSoloNode();
  token = readFileSync(nodePaths(join(solo.dir, 'solo')).adminToken, 'utf8').trim();
  // The research group joins the consortium (the solo member's vote is the threshold).
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
}, 120_000);

afterAll(async () => {
  await researchOutbox?.stop();
  researchDb?.close();
  await solo?.stop();
});

describe('research at a member node', () => {
  it('is proposed by the research member and approved by the ethics board it names, through the node', async () => {
    const now = Math.floor(Date.now() / 1000);
    await researchLedger.propose({
      id: STUDY,
      protocolHash: keccak256(toHex('protocol')),
      profileHash: PROFILE,
      categories: ['demographics', 'conditions'],
      resourceTypes: ['Patient', 'Condition'],
      notBefore: now - 3600,
      notAfter: now + 30 * 86_400,
      k: 2,
      ethicsBoards: [solo.node.ledger.outbox.address],
    });
    const approved = await http(`/admin/research/studies/${STUDY}/approvals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({
      status: 'approved',
      approvals: { by: [solo.node.ledger.outbox.address] },
    });
    await researchLedger.open(STUDY);
    await solo.node.research?.index.sync();
    expect((await http(`/research/studies/${STUDY}`)).json.status).toBe('open');
  });

  it('has in its cohort exactly the local patients who joined; feasibility counts them, small cells suppressed', async () => {
    for (const withDiabetes of [true, true, true]) patients.push(await createPatient(withDiabetes));
    const { deployment } = solo.node;
    for (const patient of patients.slice(0, 2)) {
      const signed = await signGrantForNewPatient({
        chainId: 31337,
        consentRegistry: deployment.contracts.consentRegistry,
        grantee: studyGrantee(STUDY),
        categories: ['demographics', 'conditions'],
        purposes: ['HRESCH'],
        nowSeconds: Math.floor(Date.now() / 1000),
        patientKey: patient.key,
      });
      const relayed = await http('/ledger/consent/grants?wait=true', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: signed.body,
      });
      expect(relayed.status).toBeLessThan(300);
      patient.revoke = signed.revoke;
    }
    await solo.node.indexer.sync();
    const research = solo.node.research;
    if (research === undefined) throw new Error('the solo deployment has a ResearchRegistry');
    const study = (await research.ports.study(STUDY)) as Study;
    const cohort = await research.ports.cohort(study, await research.ports.consentBlock());
    expect(cohort.map((c) => c.patientIds[0]).sort()).toEqual(
      patients
        .slice(0, 2)
        .map((p) => p.id)
        .sort(),
    );

    const feasible = await http('/research/feasibility', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ studyId: STUDY, resourceType: 'Condition', code: DIABETES, groupBy: ['sex'] }),
    });
    expect(feasible).toEqual({
      status: 200,
      json: { k: 2, total: 2, cells: [{ sex: 'female', count: 2 }] },
    });
    const small = await http('/research/feasibility', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ studyId: STUDY, resourceType: 'Condition', code: DIABETES, k: 3 }),
    });
    expect(small.json).toEqual({ k: 3, total: null, cells: [] });
    // The research member's own system asks with a SMART Backend Services token it signs.
    const client = new MemberClient({
      member: {
        address: solo.node.ledger.outbox.address,
        name: 'solo',
        // The node's public URL (its token audience) is a placeholder; requests go where it listens.
        fhirBaseUrl: 'http://127.0.0.1:1/fhir',
      },
      fetch: (url, init) => fetch(String(url).replace('http://127.0.0.1:1', solo.node.url), init),
    });
    const memberToken = await client.memberToken(
      {
        address: researcher.address,
        sign: async (hash) => hexToBytes(await researcher.sign({ hash: bytesToHex(hash) })),
      },
      { purpose: 'HRESCH' },
    );
    const asked = await http('/research/feasibility', {
      method: 'POST',
      headers: { authorization: `Bearer ${memberToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ studyId: STUDY, resourceType: 'Condition', code: DIABETES }),
    });
    expect(asked.json).toEqual({ k: 2, total: 2, cells: [] });
    // Anyone else: only a research member's system may ask.
    const refused = await http('/research/feasibility', {
      method: 'POST',
      headers: dev('Practitioner/dr-1', 'clinician'),
      body: JSON.stringify({}),
    });
    expect(refused.status).toBe(403);
  });

  it('credits contributors on per-study addresses the patient sees; a patient who leaves is out of the next cohort', async () => {
    const research = solo.node.research;
    if (research === undefined) throw new Error('no research module');
    const study = (await research.ports.study(STUDY)) as Study;
    const consentBlock = await research.ports.consentBlock();
    const cohort = await research.ports.cohort(study, consentBlock);
    await research.ports.anchorRelease({
      studyId: STUDY,
      manifestHash: keccak256(toHex('manifest 1')),
      profileHash: PROFILE,
      consentBlock,
      records: 4,
      suppressed: 0,
      contributors: cohort.map((c) => c.creditAddress),
    });
    const [first, second, outsider] = patients as [
      (typeof patients)[0],
      (typeof patients)[0],
      (typeof patients)[0],
    ];
    const credits = await http('/research/credits', { headers: dev(`Patient/${first.id}`) });
    expect(credits.status).toBe(200);
    expect(credits.json).toMatchObject({
      total: '1',
      studies: [{ studyId: STUDY, status: 'open', credits: '1' }],
    });
    expect((credits.json.studies as { creditAddress: string }[])[0]?.creditAddress).not.toBe(
      privateKeyToAccount(first.key).address,
    );
    expect((await http('/research/credits', { headers: dev(`Patient/${outsider.id}`) })).json).toMatchObject({
      total: '0',
      studies: [],
    });

    const revoked = await http('/ledger/consent/revocations?wait=true', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: await (first.revoke as () => Promise<string>)(),
    });
    expect(revoked.status).toBeLessThan(300);
    await solo.node.indexer.sync();
    const next = await research.ports.cohort(study, await research.ports.consentBlock());
    expect(next.map((c) => c.patientIds[0])).toEqual([second.id]);
  });

  it('is listed, shown and voted on through the CLI', async () => {
    let output = '';
    const run = async (...args: string[]) => {
      output = '';
      const program = new Command().exitOverride().option('--data-dir <dir>');
      registerResearchCommands(program, { write: (text: string) => (output += text) });
      await program.parseAsync(['node', 'careledger', '--data-dir', solo.dir, ...args]);
      return output;
    };
    const listed = JSON.parse(await run('research', 'list', '--node', solo.node.url, '--json')) as {
      studies: { id: Hex; releases: unknown[] }[];
    };
    expect(listed.studies.map((s) => s.id)).toEqual([STUDY]);
    expect(listed.studies[0]?.releases).toHaveLength(1);
    expect(await run('research', 'show', 'lakeside-diabetes-2026', '--node', solo.node.url)).toContain(
      `join: grant HRESCH to ${studyGrantee(STUDY)}`,
    );
    // The node is not the researcher: `close` casts its vote (a majority of two members is two).
    const voted = JSON.parse(
      await run(
        'research',
        'close',
        STUDY,
        '--url',
        solo.node.url,
        '--token-file',
        nodePaths(join(solo.dir, 'solo')).adminToken,
        '--json',
      ),
    ) as {
      status: string;
      closeVotes: number;
    };
    expect(voted).toMatchObject({ status: 'open', closeVotes: 1 });
    await expect(run('research', 'vote', STUDY, '--node', 'nowhere')).rejects.toThrow(/no node "nowhere"/);
  });

  it('lets a patient join and leave with their own key through the CLI', async () => {
    // A data folder as the CLI expects it: the deployment record and the chain's RPC URL.
    const dataDir = join(solo.dir, 'cli');
    mkdirSync(join(dataDir, 'chain'), { recursive: true });
    saveDeployment(join(dataDir, 'chain', 'deployment.json'), solo.node.deployment);
    writeFileSync(join(dataDir, 'chain', 'chain.json'), JSON.stringify({ rpcUrl: solo.chain.rpcUrl }));
    const patient = await createPatient(false);
    writeFileSync(
      join(dataDir, 'key.json'),
      JSON.stringify(await createPatientKeystore(patient.key, 'pass phrase', { n: 2 ** 15 })),
    );
    writeFileSync(join(dataDir, 'pass'), 'pass phrase\n');
    let output = '';
    const run = async (...args: string[]) => {
      output = '';
      const program = new Command().exitOverride().option('--data-dir <dir>');
      registerResearchCommands(program, { write: (text: string) => (output += text) });
      await program.parseAsync(['node', 'careledger', '--data-dir', dataDir, ...args]);
      return output;
    };
    const key = [
      '--keystore',
      join(dataDir, 'key.json'),
      '--passphrase-file',
      join(dataDir, 'pass'),
      '--node',
      solo.node.url,
    ];
    const joined = JSON.parse(await run('research', 'join', 'lakeside-diabetes-2026', ...key, '--json')) as {
      grantId: Hex;
      grantee: string;
    };
    expect(joined.grantee).toBe(studyGrantee(STUDY));
    await solo.node.indexer.sync();
    const research = solo.node.research;
    if (research === undefined) throw new Error('no research module');
    const study = (await research.ports.study(STUDY)) as Study;
    const ids = async () =>
      (await research.ports.cohort(study, await research.ports.consentBlock())).map((c) => c.patientIds[0]);
    expect(await ids()).toContain(patient.id);
    expect(await run('research', 'leave', 'lakeside-diabetes-2026', ...key)).toBe(
      `left: revoked ${joined.grantId}\n`,
    );
    await solo.node.indexer.sync();
    expect(await ids()).not.toContain(patient.id);
    expect(await run('research', 'leave', 'lakeside-diabetes-2026', ...key)).toBe(
      'no grant in force to leave\n',
    );
  });
});
