/**
 * The portal shows a payer's ExplanationOfBenefit with what the patient owes (decision 0019), for an
 * EOB built by the same function the node uses to write it. (The grouping itself needs the DOM.)
 */
import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import {
  adjudicateClaim,
  createExplanationOfBenefit,
  memberLiabilityOf,
  parseBenefitPolicy,
} from '../claims/index.js';
import { POLICY_JSON, syntheaClaim, syntheaCoverage } from '../claims/synthea-claim.fixture.js';
import { claimAmounts } from './app/claim-summary.js';

function adjudicated(): { claim: Claim; response: ClaimResponse } {
  const claim = syntheaClaim('2026-03-05', [
    { code: '99213', net: 300 },
    { code: '70553', net: 2000 },
  ]);
  const { claimResponse } = adjudicateClaim({
    claim,
    policy: parseBenefitPolicy(POLICY_JSON),
    coverage: syntheaCoverage(),
    accumulators: { deductibleMetCents: 0, outOfPocketMetCents: 0, usage: {} },
    priorAuthorizations: [],
    seenCommitments: new Set(),
    commitmentKey: new Uint8Array(32).fill(7),
    receivedAt: '2026-03-20T10:00:00Z',
  });
  return { claim, response: claimResponse };
}

describe('an ExplanationOfBenefit in the portal', () => {
  it('shows what the patient owes and what the plan paid', () => {
    const { claim, response } = adjudicated();
    const eob = createExplanationOfBenefit(claim, response, { claimId: 'c-1', claimResponseId: 'cr-1' });
    // 99213: copay 25, deductible 275 (of 500); 70553: deductible 225, coinsurance 20% of 1775 = 355.
    expect(memberLiabilityOf(eob)).toBe(88_000);
    expect(eob.item?.[0]?.adjudication?.at(-1)?.category.coding?.[0]?.code).toBe('memberliability');
    expect(eob.identifier?.[0]?.value).toBe(response.request?.identifier?.value);
    expect(claimAmounts(eob as unknown as Record<string, unknown>)).toBe(
      'you owe 880.00 USD · plan paid 1420.00 USD · complete',
    );
  });
});
