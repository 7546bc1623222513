import type { Address } from 'viem';
import { describe, expect, test } from 'vitest';
import type { IndexedEvent } from '../sync/index-storage.js';
import type { ConsentDecision, ConsentQuery } from './consent-check.js';
import { ConsentDecisionCache } from './consent-decision-cache.js';

const PATIENT_A = '0x00000000000000000000000000000000000000Aa' as Address;
const PATIENT_B = '0x00000000000000000000000000000000000000bB' as Address;
const LAB = '0x0000000000000000000000000000000000000Cc0' as Address;
const query = (patient: Address, at = 1000): ConsentQuery => ({
  patient,
  grantee: LAB,
  category: 1n,
  purpose: 1n,
  at,
});

/** A ledger index reduced to what the test changes: which patients' grants are in force. */
function ledger() {
  const granted = new Set<string>([PATIENT_A.toLowerCase(), PATIENT_B.toLowerCase()]);
  let evaluations = 0;
  let pause: Promise<void> | undefined;
  return {
    granted,
    get evaluations() {
      return evaluations;
    },
    pauseNext(until: Promise<void>) {
      pause = until;
    },
    evaluate: async (q: ConsentQuery): Promise<ConsentDecision> => {
      evaluations++;
      const decision: ConsentDecision = granted.has(q.patient.toLowerCase())
        ? { allowed: true, grantId: '0x01', via: 'grantee' }
        : { allowed: false, reason: 'revoked' };
      const waiting = pause;
      pause = undefined;
      await waiting;
      return decision;
    },
  };
}

const event = (contract: IndexedEvent['contract'], name: string, args: IndexedEvent['args']) => ({
  contract,
  name,
  args,
});

describe('ConsentDecisionCache', () => {
  test('answers the same question in the same second from memory, and asks again the next second', async () => {
    const index = ledger();
    const cache = new ConsentDecisionCache(index.evaluate);
    expect((await cache.check(query(PATIENT_A))).allowed).toBe(true);
    expect((await cache.check(query(PATIENT_A))).allowed).toBe(true);
    expect(index.evaluations).toBe(1);
    await cache.check(query(PATIENT_A, 1001));
    expect(index.evaluations).toBe(2);
  });

  test('a revocation indexed for the patient is seen by the very next check, in the same second', async () => {
    const index = ledger();
    const cache = new ConsentDecisionCache(index.evaluate);
    await cache.check(query(PATIENT_A));
    await cache.check(query(PATIENT_B));
    const revocation = [
      event('consent', 'ConsentRevoked', { grantId: '0x01', patient: PATIENT_A.toLowerCase() }),
    ];
    cache.noteIndexed(revocation);
    index.granted.delete(PATIENT_A.toLowerCase());
    cache.noteIndexed(revocation);
    expect(await cache.check(query(PATIENT_A))).toEqual({ allowed: false, reason: 'revoked' });
    // Another patient's decision is kept.
    const before = index.evaluations;
    expect((await cache.check(query(PATIENT_B))).allowed).toBe(true);
    expect(index.evaluations).toBe(before);
  });

  test('membership and practitioner events, unknown consent events and rollbacks drop every decision; anchors none', async () => {
    for (const [events, dropped] of [
      [[event('registry', 'PractitionerRevoked', { practitioner: LAB })], true],
      [[event('registry', 'MemberRemoved', { account: LAB })], true],
      [[event('consent', 'SomethingNew', {})], true],
      [[event('anchor', 'CheckpointAnchored', { origin: 'x' })], false],
    ] as const) {
      const index = ledger();
      const cache = new ConsentDecisionCache(index.evaluate);
      await cache.check(query(PATIENT_B));
      cache.noteIndexed(events);
      await cache.check(query(PATIENT_B));
      expect(index.evaluations, events[0]?.name).toBe(dropped ? 2 : 1);
    }
    const index = ledger();
    const cache = new ConsentDecisionCache(index.evaluate);
    await cache.check(query(PATIENT_B));
    cache.clear();
    await cache.check(query(PATIENT_B));
    expect(index.evaluations).toBe(2);
  });

  test('a decision made while a batch was being indexed is not kept', async () => {
    const index = ledger();
    const cache = new ConsentDecisionCache(index.evaluate);
    let resume = () => {};
    index.pauseNext(new Promise<void>((resolve) => (resume = resolve)));
    const racing = cache.check(query(PATIENT_A)); // reads "granted"…
    const revocation = [event('consent', 'ConsentRevoked', { patient: PATIENT_A.toLowerCase() })];
    cache.noteIndexed(revocation); // …while the revocation is indexed
    index.granted.delete(PATIENT_A.toLowerCase());
    cache.noteIndexed(revocation);
    resume();
    expect((await racing).allowed).toBe(true); // what the index said when asked
    expect((await cache.check(query(PATIENT_A))).allowed).toBe(false);
  });

  test('stays within its entry bound', async () => {
    const index = ledger();
    const cache = new ConsentDecisionCache(index.evaluate, { maxEntries: 1 });
    await cache.check(query(PATIENT_A));
    await cache.check(query(PATIENT_B));
    await cache.check(query(PATIENT_A));
    expect(index.evaluations).toBe(3);
  });
});
