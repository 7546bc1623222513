import type { Address, Hex } from 'viem';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { ConsentOpening } from '../../consent/consent-opening.js';
import type { OpeningSealer } from '../sqlite/sqlite-consent-opening-store.js';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}` as Address;
const h = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;

// Binds the sealed text to its grant id as the node's AES-GCM sealer does (associated data).
const sealer: OpeningSealer = {
  seal: async (grantId, plaintext) => `${grantId}:${Buffer.from(plaintext).toString('base64')}`,
  open: async (grantId, sealed) => {
    const [id, body] = sealed.split(':');
    if (id !== grantId) throw new Error('sealed for another grant');
    return new Uint8Array(Buffer.from(body ?? '', 'base64'));
  },
};

function opening(n: number, patient: Address): ConsentOpening {
  return {
    grantId: h(n),
    signature: `0x${'11'.repeat(65)}` as Hex,
    grant: {
      patient,
      grantee: addr(2),
      categories: 5n,
      purposes: 3n,
      salt: h(99),
      notBefore: 1n,
      notAfter: 2n ** 40n,
      nonce: BigInt(n),
    },
  };
}

/** Consent openings (decision 0013) and key-enrolment challenges on every adapter. */
export function describeConsentStoresContract(adapter: StorageAdapter): void {
  describe(`ConsentOpeningStore and LedgerKeyChallengeStore contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    beforeEach(async () => {
      under = await adapter.open();
    });
    afterEach(async () => {
      await under.close();
    });

    test('openings are sealed at rest, idempotent, and listed per patient in arrival order', async () => {
      let clock = 0;
      const store = under.consentOpenings(sealer, () => clock++);
      await store.save(opening(2, addr(7)));
      await store.save(opening(1, addr(7)));
      await store.save({ ...opening(1, addr(7)), signature: '0x22' });
      await store.save(opening(3, addr(8)));
      expect(await store.load(h(1))).toEqual(opening(1, addr(7)));
      expect(await store.load(h(4))).toBeUndefined();
      expect(await store.grantIdsOf(addr(7))).toEqual([h(2), h(1)]);
      expect(await store.grantIdsOf(addr(9))).toEqual([]);
    });

    test('a key challenge is consumed exactly once', async () => {
      const store = under.keyChallenges;
      const challenge = {
        nonce: h(0xabc),
        node: 'node-a',
        patient: 'pat-1',
        key: addr(5),
        issuedAt: 100,
        expiresAt: 400,
        requestedBy: 'Patient/pat-1',
      };
      await store.insert(challenge);
      expect(await store.get(h(0xabc))).toEqual(challenge);
      expect(await store.get(h(0xdef))).toBeUndefined();
      const results = await Promise.all([store.consume(h(0xabc), 150), store.consume(h(0xabc), 151)]);
      expect(results.sort()).toEqual([false, true]);
      expect((await store.get(h(0xabc)))?.usedAt).toBeTypeOf('number');
      expect(await store.consume(h(0xdef), 150)).toBe(false);
    });
  });
}
