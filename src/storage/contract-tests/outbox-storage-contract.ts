import type { Address, Hex } from 'viem';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

const A = '0x00000000000000000000000000000000000000a1' as Address;
const B = '0x00000000000000000000000000000000000000b2' as Address;
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;

/** OutboxStorage (src/ledger/outbox-storage.ts) on every adapter. */
export function describeOutboxStorageContract(adapter: StorageAdapter): void {
  describe(`OutboxStorage contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    beforeEach(async () => {
      under = await adapter.open();
    });
    afterEach(async () => {
      await under.close();
    });

    const insert = (nonce: number, from: Address = A) =>
      under.outbox.insert({
        label: 'anchor',
        from,
        to: B,
        nonce,
        rawTransaction: `0x${'ab'.repeat(nonce + 1)}` as Hex,
        txHash: hash(nonce + (from === A ? 0 : 1000)),
        createdAt: 1_700_000_000_000 + nonce,
      });

    test('inserts, reads back by id and hash, lists and counts by status', async () => {
      const first = await insert(0);
      expect(first).toMatchObject({
        id: expect.any(Number),
        status: 'sent',
        nonce: 0,
        sendAttempts: 0,
        blockNumber: null,
      });
      const second = await insert(1);
      await insert(0, B);
      expect(await under.outbox.get(first.id)).toEqual(first);
      expect(await under.outbox.getByHash(second.txHash)).toEqual(second);
      expect(await under.outbox.get(99_999)).toBeUndefined();
      expect(await under.outbox.highestNonce(A)).toBe(1);
      expect(await under.outbox.highestNonce('0x0000000000000000000000000000000000000000')).toBeUndefined();

      await under.outbox.markConfirmed(first.id, {
        blockNumber: 7,
        blockHash: hash(7),
        status: 'success',
        contractAddress: null,
      });
      await under.outbox.noteSendAttempt(second.id);
      await under.outbox.noteSendAttempt(second.id);
      expect((await under.outbox.listUnconfirmed(A)).map((e) => [e.nonce, e.sendAttempts])).toEqual([[1, 2]]);
      expect(await under.outbox.listConfirmedFromTop(A, 5)).toMatchObject([
        { id: first.id, blockNumber: 7, receiptStatus: 'success' },
      ]);
      expect(await under.outbox.counts(A)).toEqual({ sent: 1, confirmed: 1, failed: 0 });

      await under.outbox.markUnconfirmed([first.id]);
      expect((await under.outbox.listUnconfirmed(A)).map((e) => e.nonce)).toEqual([0, 1]);
      await under.outbox.markFailed(second.id, 'nonce too low');
      expect(await under.outbox.get(second.id)).toMatchObject({ status: 'failed', error: 'nonce too low' });
      expect(await under.outbox.counts(A)).toEqual({ sent: 1, confirmed: 0, failed: 1 });
    });

    test('refuses a second transaction with the same sender and nonce', async () => {
      await insert(3);
      await expect(
        under.outbox.insert({
          label: 'x',
          from: A,
          to: null,
          nonce: 3,
          rawTransaction: '0x01',
          txHash: hash(77),
          createdAt: 1,
        }),
      ).rejects.toThrow();
    });
    test('stores nothing and answers undefined when the sender and nonce (or the hash) are taken', async () => {
      const held = await insert(4);
      const next = (nonce: number, txHash: Hex) =>
        under.outbox.insertUnlessNonceTaken({
          label: 'relayGrant',
          from: A,
          to: B,
          nonce,
          rawTransaction: '0x02',
          txHash,
          createdAt: 2,
        });
      expect(await next(4, hash(88))).toBeUndefined();
      expect(await next(5, held.txHash)).toBeUndefined();
      expect(await next(5, hash(89))).toMatchObject({ nonce: 5, status: 'sent', label: 'relayGrant' });
      expect(await under.outbox.get(held.id)).toEqual(held);
      expect(await under.outbox.counts(A)).toEqual({ sent: 2, confirmed: 0, failed: 0 });
    });
  });
}
