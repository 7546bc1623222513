import type { Address, Hex } from 'viem';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

const member = (n: number) => `0x${n.toString(16).padStart(40, 'A')}` as Address;
const grant = (n: number) => `0x${n.toString(16).padStart(64, 'B')}` as Hex;
const lower = <T extends string>(s: T) => s.toLowerCase() as T;

/** The consent opening delivery queue (decision 0013) on every adapter. */
export function describeOpeningDeliveryStoreContract(adapter: StorageAdapter): void {
  describe(`OpeningDeliveryStore contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    beforeEach(async () => {
      under = await adapter.open();
    });
    afterEach(async () => {
      await under.close();
    });

    test('pending pairs come due in time order, a retry moves one later, a delivery ends it', async () => {
      const store = under.openingDeliveries;
      await store.enqueue(grant(2), member(1), 200);
      await store.enqueue(grant(1), member(2), 100);
      await store.enqueue(grant(1), member(1), 100);
      await store.enqueue(grant(1), member(1), 150);
      expect(await store.get(grant(1), member(1))).toEqual({
        grantId: lower(grant(1)),
        member: lower(member(1)),
        attempts: 0,
        nextAttemptAt: 100,
      });
      expect((await store.due(150, 10)).map((d) => [d.grantId, d.member])).toEqual([
        [lower(grant(1)), lower(member(1))],
        [lower(grant(1)), lower(member(2))],
      ]);
      expect(await store.due(1_000, 1)).toHaveLength(1);
      await store.markRetry(grant(1), member(1), 500, 'HTTP 503', 160);
      expect(await store.get(grant(1), member(1))).toMatchObject({ attempts: 1, nextAttemptAt: 500 });
      await store.markDelivered(grant(1), member(2), 170);
      await store.enqueue(grant(1), member(2), 180);
      expect(await store.get(grant(1), member(2))).toBeUndefined();
      expect((await store.due(300, 10)).map((d) => d.grantId)).toEqual([lower(grant(2))]);
      expect(await store.counts()).toEqual({ pending: 2, delivered: 1, failed: 0, lastError: 'HTTP 503' });
    });

    test('a due pair is claimed by one sender only, until its lease ends or it is settled', async () => {
      const store = under.openingDeliveries;
      await store.enqueue(grant(5), member(5), 100);
      expect(await store.claim(grant(5), member(5), 99, 1_000)).toBeUndefined();
      // Two processes pumping at once: one claim matches, the other finds the pair taken.
      const claims = await Promise.all([
        store.claim(grant(5), member(5), 100, 1_000),
        store.claim(grant(5), member(5), 100, 1_000),
      ]);
      expect(claims.filter((c) => c !== undefined)).toEqual([
        { grantId: lower(grant(5)), member: lower(member(5)), attempts: 0, nextAttemptAt: 1_000 },
      ]);
      expect(await store.due(999, 10)).toEqual([]);
      expect(await store.claim(grant(5), member(5), 999, 2_000)).toBeUndefined();
      // The sender died: the pair is due again when the lease ends.
      expect(await store.claim(grant(5), member(5), 1_000, 2_000)).toMatchObject({ nextAttemptAt: 2_000 });
      await store.markDelivered(grant(5), member(5), 1_001);
      expect(await store.claim(grant(5), member(5), 5_000, 6_000)).toBeUndefined();
    });

    test('a failed pair is pending again when queued anew, from zero attempts', async () => {
      const store = under.openingDeliveries;
      await store.enqueue(grant(3), member(3), 10);
      await store.markRetry(grant(3), member(3), 20, 'TimeoutError', 11);
      await store.markFailed(grant(3), member(3), 'grant revoked', 12);
      expect(await store.get(grant(3), member(3))).toBeUndefined();
      expect(await store.counts()).toEqual({
        pending: 0,
        delivered: 0,
        failed: 1,
        lastError: 'grant revoked',
      });
      await store.enqueue(grant(3), member(3), 30);
      expect(await store.get(grant(3), member(3))).toMatchObject({ attempts: 0, nextAttemptAt: 30 });
    });
  });
}
