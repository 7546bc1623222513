import type { ClaimResponse } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { type AdjudicationInputs, adjudicateClaim } from './adjudicate-claim.js';
import { parseBenefitPolicy } from './benefit-policy.js';
import { POLICY_JSON, syntheaClaim, syntheaCoverage } from './synthea-claim.fixture.js';
import { verifyAdjudication } from './verify-adjudication.js';

const INPUTS: AdjudicationInputs = {
  claim: syntheaClaim('2026-03-05', [
    { code: '99213', net: 300 },
    { code: '70553', net: 2000 },
  ]),
  policy: parseBenefitPolicy(POLICY_JSON),
  coverage: syntheaCoverage(),
  accumulators: { deductibleMetCents: 10_000, outOfPocketMetCents: 10_000, usage: {} },
  priorAuthorizations: [],
  seenCommitments: new Set(),
  commitmentKey: new Uint8Array(32).fill(1),
  receivedAt: '2026-03-20T10:00:00Z',
};

function pathOfFailure(response: ClaimResponse, inputs: AdjudicationInputs = INPUTS): unknown {
  try {
    verifyAdjudication(inputs, response);
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    expect((error as CareLedgerError).details.reason).toBe('adjudication-mismatch');
    return (error as CareLedgerError).details.path;
  }
  return 'verified';
}

describe('verifyAdjudication', () => {
  const original = adjudicateClaim(INPUTS).claimResponse;

  it('accepts the decision the policy yields, with a server id and meta added', () => {
    expect(pathOfFailure({ ...structuredClone(original), id: 'cr-1', meta: { versionId: '1' } })).toBe(
      'verified',
    );
  });

  it('catches a benefit lowered after the fact', () => {
    const altered = structuredClone(original);
    const benefit = altered.item?.[1]?.adjudication.find((a) => a.category.coding?.[0]?.code === 'benefit');
    if (benefit?.amount === undefined) throw new Error('fixture has no benefit');
    benefit.amount.value = (benefit.amount.value ?? 0) - 0.01;
    expect(pathOfFailure(altered)).toBe('ClaimResponse.item.1.adjudication.5.amount.value');
  });

  it('catches an altered payment, outcome, policy version or a dropped denial reason', () => {
    const paid = structuredClone(original);
    if (paid.payment === undefined) throw new Error('fixture has no payment');
    paid.payment.amount = { value: 1, currency: 'USD' };
    expect(pathOfFailure(paid)).toBe('ClaimResponse.payment.amount.value');
    const deniedInputs = { ...INPUTS, claim: syntheaClaim('2026-03-05', [{ code: '27447', net: 5000 }]) };
    const denied = adjudicateClaim(deniedInputs).claimResponse;
    const undenied = structuredClone(denied);
    delete undenied.item?.[0]?.adjudication[0]?.reason;
    expect(pathOfFailure(denied, deniedInputs)).toBe('verified');
    expect(pathOfFailure(undenied, deniedInputs)).toBe('ClaimResponse.item.0.adjudication.0.reason');
    expect(pathOfFailure({ ...original, outcome: 'error' })).toBe('ClaimResponse.outcome');
    expect(
      pathOfFailure(original, {
        ...INPUTS,
        policy: parseBenefitPolicy({ ...POLICY_JSON, version: '2026.2' }),
      }),
    ).toBe('ClaimResponse.extension.0.valueString');
  });

  it('catches a decision adjudicated against other accumulators than those claimed', () => {
    expect(
      pathOfFailure(original, { ...INPUTS, accumulators: { ...INPUTS.accumulators, deductibleMetCents: 0 } }),
    ).toMatch(/^ClaimResponse\.(item|total)/);
  });
});
