import type { Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import { type ConsentOpening, MemoryConsentOpeningStore } from './consent-opening.js';
import { createOpeningFanOut } from './opening-fan-out.js';

const PATIENT = '0x1111111111111111111111111111111111111111';
const opening = (n: number): ConsentOpening => ({
  grantId: `0x${n.toString(16).padStart(64, '0')}` as Hex,
  signature: '0x',
  grant: {
    patient: PATIENT,
    grantee: '0x2222222222222222222222222222222222222222',
    categories: 1n,
    purposes: 1n,
    salt: `0x${'ab'.repeat(32)}`,
    notBefore: 0n,
    notAfter: 10n,
    nonce: BigInt(n),
  },
});

describe('opening fan-out on indexed events', () => {
  it('sends a held opening once its grant is indexed, and every held opening of a patient a member announces', async () => {
    const openings = new MemoryConsentOpeningStore();
    await openings.save(opening(1));
    await openings.save(opening(2));
    const sent: Hex[] = [];
    let done: () => void = () => undefined;
    const fanOut = createOpeningFanOut({
      openings,
      deliver: async (o) => {
        sent.push(o.grantId);
        if (sent.length === 3) done();
      },
      log: () => undefined,
    });
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const granted = [
      { contract: 'consent', name: 'ConsentGranted', args: { grantId: opening(1).grantId } },
      { contract: 'consent', name: 'ConsentGranted', args: { grantId: `0x${'99'.repeat(32)}` } },
    ];
    fanOut.noteIndexed(granted); // before the batch is applied: nothing yet
    expect(sent).toEqual([]);
    fanOut.noteIndexed(granted); // after
    const located = [{ contract: 'locator', name: 'RecordsLocated', args: { patient: PATIENT } }];
    fanOut.noteIndexed(located);
    fanOut.noteIndexed(located);
    await finished;
    expect(sent.sort()).toEqual([opening(1).grantId, opening(1).grantId, opening(2).grantId].sort());
  });
});
