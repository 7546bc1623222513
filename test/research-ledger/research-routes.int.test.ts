/**
 * `/research` routes over a real anvil, a real SQLite outbox and the ResearchIndex: the research
 * member's operator proposes, opens and closes through its node; other members approve on chain; GET
 * answers from the index (status, period, k, categories, what a patient would share); refusals come
 * back as the contract's reasons; anchoring a release credits its contributors in batches.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, type Hex, keccak256, type PublicClient, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeApp } from '../../src/http/create-node-app.js';
import {
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
  researchRegistryAbi,
  researchRegistryBytecode,
} from '../../src/ledger/contracts.generated.js';
import { Outbox } from '../../src/ledger/outbox.js';
import {
  CONTRIBUTORS_PER_TRANSACTION,
  createResearchAdminRoutes,
  createResearchRoutes,
  ResearchIndex,
  ResearchLedger,
  type ResearchRouteDeps,
} from '../../src/research/ledger/index.js';
import { createStudyProtocols, hashStudyProtocol } from '../../src/research/ledger/study-protocol.js';
import { GENERAL_RESEARCH_ADDRESS, studyGrantee } from '../../src/research/study.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import {
  releaseRecordMigrations,
  SqliteStudyProtocolStorage,
} from '../../src/storage/sqlite/sqlite-release-record-storage.js';
import { memberInput } from '../contracts/fixtures.js';
import { anvilAccount, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';

const NODE = anvilAccount(0);
const HOSPITAL = anvilAccount(1);
const LAB = anvilAccount(2);
const TOKEN = 'operator-token-for-tests';
const PROFILE = keccak256(toHex('profile'));
const dir = mkdtempSync(join(tmpdir(), 'careledger-research-routes-'));

let anvil: TestAnvil;
let outbox: Outbox;
let ledger: ResearchLedger;
let index: ResearchIndex;
let app: ReturnType<typeof createNodeApp>;
let registryAddress: Address;
let db: ReturnType<typeof openDatabase>;

beforeAll(async () => {
  anvil = await startTestAnvil();
  const registry = await anvil.deploy(NODE, {
    abi: consortiumRegistryAbi,
    bytecode: consortiumRegistryBytecode,
    args: [
      [
        memberInput(NODE.address, 'university', 'research'),
        memberInput(HOSPITAL.address, 'hospital', 'provider'),
        memberInput(LAB.address, 'lab', 'lab'),
      ],
      1,
    ],
  });
  registryAddress = await anvil.deploy(NODE, {
    abi: researchRegistryAbi,
    bytecode: researchRegistryBytecode,
    args: [registry],
  });
  const deployment = {
    contracts: { researchRegistry: registryAddress } as never,
    deployBlock: 0,
  };
  db = openDatabase(join(dir, 'node.db'), [...outboxMigrations, ...releaseRecordMigrations]);
  outbox = new Outbox({
    storage: new SqliteOutboxStorage(db),
    account: NODE,
    client: anvil.publicClient as unknown as PublicClient,
    chainId: anvil.chain.id,
  });
  outbox.start(50);
  ledger = new ResearchLedger(deployment, outbox, anvil.publicClient);
  index = new ResearchIndex({ client: anvil.publicClient, deployment });
  app = createNodeApp({ loadShedding: false });
  const deps: ResearchRouteDeps = {
    ledger,
    index,
    self: NODE.address,
    adminToken: TOKEN,
    authenticate: async () => ({ who: 'Practitioner/x', purpose: 'TREAT' }),
    memberRole: async () => undefined,
    search: async () => [],
    patientAddress: async () => undefined,
    openings: { load: async () => undefined, grantIdsOf: async () => [] },
    audit: async () => ({ index: 0 }),
    protocols: createStudyProtocols({
      storage: new SqliteStudyProtocolStorage(db),
      memberBase: async () => undefined,
    }),
  };
  app.route('/research', createResearchRoutes(deps));
  app.route('/admin/research', createResearchAdminRoutes(deps));
});

afterAll(async () => {
  await outbox?.stop();
  db?.close();
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const call = async (method: string, path: string, body?: unknown, token: string | null = TOKEN) => {
  const response = await app.request(path.startsWith('/admin') ? path : `/research${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const STUDY = keccak256(toHex('diabetes-outcomes-2026'));

function proposal(id: Hex, notBefore: Date, notAfter: Date) {
  return {
    id,
    protocolHash: keccak256(toHex('protocol v1')),
    profileHash: PROFILE,
    categories: ['demographics', 'laboratory'],
    resourceTypes: ['Patient', 'Observation'],
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    k: 5,
    ethicsBoards: [],
  };
}

describe('/research routes', () => {
  it('proposes through the operator only, and answers GET from the index', async () => {
    const start = new Date(Number(await anvil.latestTimestamp()) * 1000 - 60_000);
    const end = new Date(start.getTime() + 30 * 86_400_000);
    expect((await call('POST', '/admin/research/studies', proposal(STUDY, start, end), null)).status).toBe(
      401,
    );
    expect(
      (await call('POST', '/admin/research/studies', { ...proposal(STUDY, start, end), k: 'five' })).status,
    ).toBe(400);

    const proposed = await call('POST', '/admin/research/studies', proposal(STUDY, start, end));
    expect(proposed.status).toBe(201);
    expect(proposed.body).toMatchObject({ id: STUDY, status: 'proposed', researcher: NODE.address, k: 5 });

    const { body: listed } = await call('GET', '/studies', undefined, null);
    expect((listed.studies as { id: Hex }[]).map((s) => s.id)).toEqual([STUDY]);
    const { body: shown } = await call('GET', `/studies/${STUDY}`, undefined, null);
    expect(shown).toMatchObject({
      status: 'proposed',
      categories: ['demographics', 'laboratory'],
      resourceTypes: ['Patient', 'Observation'],
      period: { notBefore: start.toISOString().replace(/\.\d{3}Z$/, '.000Z'), inPeriod: true },
      join: {
        grantee: studyGrantee(STUDY),
        purpose: 'HRESCH',
        generalResearchGrantee: GENERAL_RESEARCH_ADDRESS,
      },
      patientWouldShare: {
        categories: [
          { code: 'demographics', display: 'Demographics' },
          { code: 'laboratory', display: 'Laboratory results' },
        ],
      },
    });
    expect((await call('GET', `/studies/${keccak256(toHex('none'))}`)).status).toBe(404);
    // The same proposal again: the contract's reason, refused before anything is signed.
    const again = await call('POST', '/admin/research/studies', proposal(STUDY, start, end));
    expect(again.status).toBe(412);
    expect(JSON.stringify(again.body)).toContain('already proposed');
  });

  it('opens only once approved; the members vote on chain and the index follows', async () => {
    const early = await call('POST', `/admin/research/studies/${STUDY}/open`);
    expect(early.status).toBe(412);
    expect(JSON.stringify(early.body)).toContain('is proposed');
    // The researcher's own node cannot approve its study.
    expect((await call('POST', `/admin/research/studies/${STUDY}/approvals`)).status).toBe(403);
    for (const member of [HOSPITAL, LAB]) {
      await anvil.write(member, {
        address: registryAddress,
        abi: researchRegistryAbi,
        functionName: 'approveStudy',
        args: [STUDY],
      });
    }
    await index.sync();
    expect(index.study(STUDY)).toMatchObject({
      status: 'approved',
      approvedBy: [HOSPITAL.address, LAB.address],
      approvalsNeeded: 2,
    });
    const opened = await call('POST', `/admin/research/studies/${STUDY}/open`);
    expect(opened.status).toBe(200);
    expect(opened.body.status).toBe('open');
    expect(((await call('GET', '/studies?status=open')).body.studies as unknown[]).length).toBe(1);
  });

  it('anchors a release in batches of contributors and counts the credits', async () => {
    const contributors = Array.from(
      { length: CONTRIBUTORS_PER_TRANSACTION + 3 },
      (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}` as Address,
    );
    const consentBlock = await anvil.publicClient.getBlockNumber();
    const manifestHash = keccak256(toHex('manifest'));
    const result = await ledger.anchorRelease({
      studyId: STUDY,
      manifestHash,
      profileHash: PROFILE,
      consentBlock,
      records: 120,
      suppressed: 4,
      contributors: [...contributors, contributors[0] as Address],
    });
    expect(result.transactions).toBe(2);
    await index.sync();
    expect(index.creditsOf(contributors[0] as Address)).toBe(1n);
    expect(index.creditsOf(contributors.at(-1) as Address)).toBe(1n);
    expect(await ledger.creditsOf(contributors.at(-1) as Address)).toBe(1n);
    expect(await ledger.release(STUDY, manifestHash)).toMatchObject({
      member: NODE.address,
      records: 120,
      suppressed: 4,
      contributors: contributors.length,
      consentBlock,
    });
    const shown = (await call('GET', `/studies/${STUDY}`)).body;
    expect(shown.releases).toMatchObject([{ manifestHash, records: 120, contributors: contributors.length }]);
    // A wrong profile is refused with the reason.
    await expect(
      ledger.anchorRelease({
        studyId: STUDY,
        manifestHash: keccak256(toHex('other')),
        profileHash: keccak256(toHex('not the approved profile')),
        consentBlock,
        records: 1,
        suppressed: 0,
        contributors: [],
      }),
    ).rejects.toThrow(/not the de-identification profile/);
  });

  it('closes its own study as the researcher; then a release is refused as not open', async () => {
    const closed = await call('POST', `/admin/research/studies/${STUDY}/close`);
    expect(closed.status).toBe(200);
    expect(closed.body.status).toBe('closed');
    await expect(
      ledger.anchorRelease({
        studyId: STUDY,
        manifestHash: keccak256(toHex('late')),
        profileHash: PROFILE,
        consentBlock: 1n,
        records: 1,
        suppressed: 0,
        contributors: [],
      }),
    ).rejects.toThrow(/is not open \(it is closed\)/);
  });

  it('names a study by the title and summary whose hash it proposes, and refuses a hash that is not theirs', async () => {
    const start = new Date(Number(await anvil.latestTimestamp()) * 1000 - 60_000);
    const end = new Date(start.getTime() + 30 * 86_400_000);
    const id = keccak256(toHex('titled-study'));
    const protocol = {
      title: 'Diabetes outcomes at Lakeside (2026)',
      summary: 'How blood sugar changes over five years in adults with type 2 diabetes.',
    };
    const { protocolHash: _bare, ...withoutHash } = proposal(id, start, end);
    const wrong = await call('POST', '/admin/research/studies', {
      ...withoutHash,
      protocol,
      protocolHash: keccak256(toHex('another text')),
    });
    expect(wrong.status).toBe(400);

    const proposed = await call('POST', '/admin/research/studies', { ...withoutHash, protocol });
    expect(proposed.status).toBe(201);
    expect(proposed.body).toMatchObject({ protocolHash: hashStudyProtocol(protocol), protocol });
    expect((await call('GET', `/studies/${id}`, undefined, null)).body).toMatchObject({ protocol });
    expect((await call('GET', `/studies/${id}/protocol`, undefined, null)).body).toEqual(protocol);
    // A study proposed with a bare hash has no document anyone can check: no title.
    expect((await call('GET', `/studies/${STUDY}`, undefined, null)).body).toMatchObject({ protocol: null });
    expect((await call('GET', `/studies/${STUDY}/protocol`, undefined, null)).status).toBe(404);
  });
});
