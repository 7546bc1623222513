import type { Address, Hex } from 'viem';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { IndexedEvent } from '../../sync/index-storage.js';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as Address;
const h = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;

function event(
  blockNumber: number,
  logIndex: number,
  contract: IndexedEvent['contract'],
  name: string,
  args: IndexedEvent['args'],
): IndexedEvent {
  return {
    blockNumber,
    blockHash: h(blockNumber),
    logIndex,
    txHash: h(1000 + blockNumber * 10 + logIndex),
    contract,
    name,
    args,
  };
}

const EVENTS: IndexedEvent[] = [
  event(1, 0, 'registry', 'MemberAdmitted', {
    account: addr(1),
    name: 'Hospital A',
    role: 1,
    logOrigin: 'a/log',
  }),
  event(1, 1, 'registry', 'MemberUpdated', {
    account: addr(1),
    fhirBaseUrl: 'https://a/fhir',
    logVerifierKey: 'vk',
    encryptionPublicKey: '0x04',
  }),
  event(2, 0, 'consent', 'ConsentGranted', {
    grantId: h(7),
    patient: addr(9),
    grantee: addr(1),
    termsHash: h(8),
    notBefore: 1,
    notAfter: 99,
    nonce: '3',
  }),
  event(2, 1, 'registry', 'PractitionerAttested', {
    practitioner: addr(5),
    organization: addr(1),
    credentialHash: h(5),
    qualificationCode: 'MD',
    expiresAt: 2_000_000_000,
  }),
  event(3, 0, 'anchor', 'CheckpointAnchored', {
    origin: 'a/log',
    treeSize: 10,
    rootHash: h(10),
    noteHash: h(11),
    member: addr(1),
    anchoredAt: 50,
  }),
  event(3, 1, 'locator', 'RecordsLocated', { patient: addr(9), member: addr(1) }),
  event(4, 0, 'consent', 'ConsentRevoked', { grantId: h(7), revokedAt: 60 }),
  event(4, 1, 'registry', 'PractitionerRevoked', { practitioner: addr(5) }),
  event(4, 2, 'registry', 'ProposalCreated', {
    proposalId: '1',
    kind: 1,
    proposer: addr(1),
    subject: addr(2),
    expiresAt: 70,
  }),
  event(5, 0, 'registry', 'VoteCast', {
    proposalId: '1',
    voter: addr(1),
    votes: 1,
    threshold: 1,
    executed: true,
  }),
];

/** ChainIndexStorage (src/sync/index-storage.ts) on every adapter: the fold of events and its rollback. */
export function describeChainIndexStorageContract(adapter: StorageAdapter): void {
  describe(`ChainIndexStorage contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    beforeEach(async () => {
      under = await adapter.open();
    });
    afterEach(async () => {
      await under.close();
    });

    const blocks = (to: number) => Array.from({ length: to }, (_, i) => ({ number: i + 1, hash: h(i + 1) }));

    test('folds events into members, grants, practitioners, anchors, locations and proposals', async () => {
      const index = under.chainIndex;
      expect(await index.cursor()).toBeUndefined();
      await index.applyBatch({ events: EVENTS, blocks: blocks(5), cursor: { number: 5, hash: h(5) } });
      // Re-applying the same events changes nothing (the events table's key).
      await index.applyBatch({ events: EVENTS, blocks: [], cursor: { number: 5, hash: h(5) } });
      expect(await index.cursor()).toEqual({ number: 5, hash: h(5) });
      expect((await index.recentBlocks(2)).map((b) => b.number)).toEqual([5, 4]);
      expect(await index.eventCount()).toBe(EVENTS.length);
      expect(await index.members()).toEqual([
        {
          address: addr(1),
          name: 'Hospital A',
          role: 1,
          fhirBaseUrl: 'https://a/fhir',
          logOrigin: 'a/log',
          logVerifierKey: 'vk',
          encryptionPublicKey: '0x04',
          status: 'active',
          admittedBlock: 1,
        },
      ]);
      expect(await index.grant(h(7))).toMatchObject({
        patient: addr(9),
        grantee: addr(1),
        termsHash: h(8),
        nonce: 3n,
        revokedAt: 60,
        blockNumber: 2,
      });
      expect(await index.grants({ patient: addr(9), grantee: addr(1) })).toHaveLength(1);
      expect(await index.grants({ grantIds: [] })).toEqual([]);
      expect(await index.grants({ grantIds: [h(7), h(8)] })).toHaveLength(1);
      expect(await index.practitioner(addr(5))).toMatchObject({
        organization: addr(1),
        revoked: true,
        expiresAt: 2_000_000_000,
      });
      expect(await index.practitioners({ organization: addr(1) })).toHaveLength(1);
      expect(await index.anchors('a/log')).toMatchObject([{ treeSize: 10, member: addr(1), blockNumber: 3 }]);
      expect(await index.recordLocations(addr(9))).toEqual([addr(1)]);
      expect(await index.proposals()).toMatchObject([
        { id: '1', kind: 'admission', votes: 1, executed: true, voters: [addr(1)] },
      ]);
    });

    test('a rollback drops later events and rebuilds what was derived from them', async () => {
      const index = under.chainIndex;
      await index.applyBatch({ events: EVENTS, blocks: blocks(5), cursor: { number: 5, hash: h(5) } });
      await index.rollbackTo({ number: 3, hash: h(3) });
      expect(await index.cursor()).toEqual({ number: 3, hash: h(3) });
      expect(await index.grant(h(7))).toMatchObject({ revokedAt: null });
      expect(await index.practitioner(addr(5))).toMatchObject({ revoked: false });
      expect(await index.proposals()).toEqual([]);
      expect(await index.eventCount()).toBe(6);
      await index.rollbackTo(undefined);
      expect(await index.cursor()).toBeUndefined();
      expect(await index.members()).toEqual([]);
    });
  });
}
