/**
 * The administrator's read APIs of a member node, answered from its ledger index: GET
 * /ledger/proposals (admission and removal proposals with their votes, folded from the registry's
 * ProposalCreated and VoteCast events) and GET /ledger/practitioners (attested practitioners, revoked
 * ones included, optionally of one organization). One node over a real anvil chain, plus the fold
 * itself on synthetic events for what a one-member consortium cannot produce (a pending proposal).
 */
import { type Address, type Hex, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../../src/ledger/index.js';
import type { RunningNode } from '../../src/node/start-node.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  chainIndexMigrations,
  SqliteChainIndexStorage,
} from '../../src/storage/sqlite/sqlite-chain-index-storage.js';
import type { IndexedEvent } from '../../src/sync/index.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

let solo: SoloNode;
let node: RunningNode;
const second = privateKeyToAccount(generatePrivateKey()).address;
const drA = privateKeyToAccount(generatePrivateKey()).address;
const drB = privateKeyToAccount(generatePrivateKey()).address;

async function mined(entry: Promise<OutboxEntry>): Promise<void> {
  const done = await node.ledger.outbox.waitForConfirmation((await entry).id, 30_000);
  expect(done.receiptStatus).toBe('success');
}
async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await node.app.request(path);
  return { status: response.status, body: (await response.json()) as T };
}

interface ProposalJson {
  id: string;
  kind: string;
  status: string;
  subject: string;
  subjectName: string | null;
  proposer: string;
  proposerName: string | null;
  votes: number;
  threshold: number;
  executed: boolean;
  voters: { address: string; name: string | null }[];
}

beforeAll(async () => {
  solo = await startSoloNode();
  ({ node } = solo);
  // A one-member consortium (k = 1): each proposal executes with the proposer's own vote.
  await mined(
    node.ledger.proposeAdmission({
      account: second,
      name: 'Second Laboratory',
      role: 'lab',
      fhirBaseUrl: 'http://127.0.0.1:1/fhir',
      logOrigin: 'second.careledger.test/log',
      logVerifierKey: '',
      encryptionPublicKey: '0x',
    }),
  );
  const expiresAt = BigInt(Math.floor(Date.now() / 1000) + 365 * 86_400);
  await mined(node.ledger.attestPractitioner(drA, keccak256(toHex('licence A')), 'MD', expiresAt));
  await mined(node.ledger.attestPractitioner(drB, keccak256(toHex('licence B')), 'RN', expiresAt));
  await mined(node.ledger.revokePractitioner(drB));
  await mined(node.ledger.proposeRemoval(second));
  await node.indexer.sync();
}, 120_000);

afterAll(async () => {
  await solo?.stop();
});

describe('GET /ledger/proposals', () => {
  it('lists the admission and the removal, with kind, subject, proposer, votes, threshold and voters', async () => {
    const self = node.ledger.address;
    const { status, body } = await getJson<{ proposals: ProposalJson[] }>('/ledger/proposals');
    expect(status).toBe(200);
    expect(body.proposals).toHaveLength(2);
    const [admission, removal] = body.proposals;
    expect(admission).toMatchObject({
      kind: 'admission',
      status: 'executed',
      executed: true,
      subject: second,
      subjectName: 'Second Laboratory',
      proposer: self,
      proposerName: 'Solo Clinic',
      votes: 1,
      threshold: 1,
      voters: [{ address: self, name: 'Solo Clinic' }],
    });
    expect(removal).toMatchObject({
      kind: 'removal',
      status: 'executed',
      executed: true,
      subject: second,
      // A removed member keeps its name in the index.
      subjectName: 'Second Laboratory',
      votes: 1,
      voters: [{ address: self, name: 'Solo Clinic' }],
    });
    expect(BigInt(removal?.id ?? '0')).toBeGreaterThan(BigInt(admission?.id ?? '0'));
    const members = await getJson<{ members: { address: string; status: string }[] }>('/ledger/members');
    expect(members.body.members.find((m) => m.address === second)?.status).toBe('removed');
  });
});

describe('GET /ledger/practitioners', () => {
  interface PractitionerJson {
    address: string;
    organization: string;
    qualificationCode: string;
    credentialHash: string;
    expiresAt: number;
    revoked: boolean;
    expired: boolean;
    valid: boolean;
  }

  it('lists the practitioners a member attested, with expiry and revocation', async () => {
    const self = node.ledger.address;
    const { status, body } = await getJson<{ practitioners: PractitionerJson[] }>(
      `/ledger/practitioners?organization=${self.toLowerCase()}`,
    );
    expect(status).toBe(200);
    const byAddress = new Map(body.practitioners.map((p) => [p.address, p]));
    expect(byAddress.size).toBe(2);
    expect(byAddress.get(drA)).toMatchObject({
      organization: self,
      qualificationCode: 'MD',
      credentialHash: keccak256(toHex('licence A')),
      revoked: false,
      expired: false,
      valid: true,
    });
    expect(byAddress.get(drA)?.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(byAddress.get(drB)).toMatchObject({ qualificationCode: 'RN', revoked: true, valid: false });
    // Without a filter, every organization's; another organization's list is empty here.
    expect(
      (await getJson<{ practitioners: unknown[] }>('/ledger/practitioners')).body.practitioners,
    ).toHaveLength(2);
    expect(
      (await getJson<{ practitioners: unknown[] }>(`/ledger/practitioners?organization=${second}`)).body
        .practitioners,
    ).toEqual([]);
  });

  it('refuses an organization that is not an address', async () => {
    const { status } = await getJson('/ledger/practitioners?organization=hospital');
    expect(status).toBe(400);
  });
});

describe('the proposal fold of the index', () => {
  it('keeps a proposal pending until a vote executes it, and survives a rollback', async () => {
    const db = openDatabase(':memory:', chainIndexMigrations);
    const index = new SqliteChainIndexStorage(db);
    const [a, b, c] = [1, 2, 3].map((n) => `0x${String(n).repeat(40)}` as Address) as [
      Address,
      Address,
      Address,
    ];
    let logIndex = 0;
    const event = (blockNumber: number, name: string, args: IndexedEvent['args']): IndexedEvent => ({
      blockNumber,
      blockHash: `0x${blockNumber.toString(16).padStart(64, '0')}` as Hex,
      logIndex: logIndex++,
      txHash: `0x${'ab'.repeat(32)}` as Hex,
      contract: 'registry',
      name,
      args,
    });
    const block = (number: number) => ({ number, hash: `0x${number.toString(16).padStart(64, '0')}` as Hex });
    await index.applyBatch({
      events: [
        event(10, 'ProposalCreated', {
          proposalId: '1',
          kind: 1,
          proposer: a,
          subject: c,
          expiresAt: '2000',
        }),
        event(10, 'VoteCast', { proposalId: '1', voter: a, votes: 1, threshold: '2', executed: false }),
      ],
      blocks: [block(10)],
      cursor: block(10),
    });
    expect(await index.proposals()).toEqual([
      expect.objectContaining({
        id: '1',
        kind: 'admission',
        subject: c,
        votes: 1,
        threshold: 2,
        executed: false,
        voters: [a],
        expiresAt: 2000,
        blockNumber: 10,
      }),
    ]);
    await index.applyBatch({
      events: [
        event(11, 'VoteCast', { proposalId: '1', voter: b, votes: 2, threshold: '2', executed: true }),
      ],
      blocks: [block(11)],
      cursor: block(11),
    });
    expect(await index.proposals()).toEqual([
      expect.objectContaining({ votes: 2, executed: true, voters: [a, b] }),
    ]);
    await index.rollbackTo(block(10));
    expect(await index.proposals()).toEqual([
      expect.objectContaining({ votes: 1, executed: false, voters: [a] }),
    ]);
    db.close();
  });
});
