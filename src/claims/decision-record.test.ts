import type { ClaimResponse } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { adjudicateClaim } from './adjudicate-claim.js';
import { hashBenefitPolicy, parseBenefitPolicy } from './benefit-policy.js';
import {
  type AnchoredRecord,
  claimAsAdjudicated,
  decisionCommitment,
  readRecordedInputs,
  verifyClaimDecision,
  withRecordedInputs,
} from './decision-record.js';
import { POLICY_JSON, syntheaClaim, syntheaCoverage } from './synthea-claim.fixture.js';

const KEY = new Uint8Array(32).fill(3);
const policy = parseBenefitPolicy(POLICY_JSON);
const submitted = { ...syntheaClaim('2026-03-05', [{ code: '99213', net: 300 }]), id: 'at-the-provider' };
const filed = { ...submitted, patient: { reference: 'Patient/p-at-payer' } };
const before = { deductibleMetCents: 10_000, outOfPocketMetCents: 10_000, usage: {} };
const coverage = { ...syntheaCoverage(), beneficiary: { reference: 'Patient/p-at-payer' } };

/** What the payer stores: the engine's response with its recorded inputs, and what it anchors. */
function decide(): { response: ClaimResponse; ledger: Map<string, AnchoredRecord> } {
  const inputs = {
    claim: claimAsAdjudicated(filed, { patient: filed.patient } as ClaimResponse),
    policy,
    coverage,
    accumulators: before,
    priorAuthorizations: [],
    seenCommitments: new Set<string>(),
    commitmentKey: KEY,
    receivedAt: '2026-03-20T10:00:00Z',
  };
  const result = adjudicateClaim(inputs);
  const response = {
    ...withRecordedInputs(result.claimResponse, {
      receivedAt: inputs.receivedAt,
      coverage,
      accumulatorsBefore: before,
      accumulatorsAfter: result.accumulators,
      priorAuthorizations: [],
      duplicate: false,
    }),
    id: 'cr-1',
    meta: { versionId: '1' },
  };
  const ledger = new Map([
    [
      result.commitment,
      {
        decisionCommitment: `0x${decisionCommitment(response, KEY)}`,
        policyHash: `0x${hashBenefitPolicy(policy)}`,
      },
    ],
  ]);
  return { response, ledger };
}

async function outcome(
  response: ClaimResponse,
  ledger: Map<string, AnchoredRecord>,
  claim = submitted,
): Promise<string> {
  try {
    await verifyClaimDecision({
      claim,
      policy,
      response,
      commitmentKey: KEY,
      anchored: async (c) => ledger.get(c),
    });
    return 'verified';
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    const { reason, path } = (error as CareLedgerError).details;
    return path === undefined ? String(reason) : `${reason} ${path}`;
  }
}

describe('the decision record', () => {
  it('round-trips the inputs beside the engine decision, and the commitment ignores id and meta', () => {
    const { response } = decide();
    const { decision, inputs } = readRecordedInputs(response);
    expect(inputs.accumulatorsBefore).toEqual(before);
    expect(decision.id).toBeUndefined();
    expect(decision.extension?.map((e) => e.url)).toEqual([
      'https://careledger.dev/fhir/StructureDefinition/benefit-policy',
    ]);
    expect(decisionCommitment({ ...response, id: 'other', meta: {} }, KEY)).toBe(
      decisionCommitment(response, KEY),
    );
  });

  it('verifies the claim as submitted (id and patient as the provider had them) against the ledger', async () => {
    const { response, ledger } = decide();
    expect(await outcome(response, ledger)).toBe('verified');
  });

  it('catches a decision altered after anchoring, a wrong but self-consistent one, a wrong policy or claim', async () => {
    const { response, ledger } = decide();
    const altered = structuredClone(response);
    (altered.payment as { amount: { value: number } }).amount.value += 1;
    expect(await outcome(altered, ledger)).toBe('decision-altered');

    // A payer that anchored the altered decision is caught by the re-run, at the first difference.
    const commitment = altered.request?.identifier?.value as string;
    const rewritten = new Map(ledger);
    rewritten.set(commitment, {
      ...(ledger.get(commitment) as AnchoredRecord),
      decisionCommitment: decisionCommitment(altered, KEY),
    });
    expect(await outcome(altered, rewritten)).toBe(
      'adjudication-mismatch ClaimResponse.payment.amount.value',
    );

    // Recorded accumulators that do not follow from the claim.
    const inflated = readRecordedInputs(response);
    const forged = withRecordedInputs(inflated.decision, {
      ...inflated.inputs,
      accumulatorsAfter: { ...inflated.inputs.accumulatorsAfter, deductibleMetCents: 0 },
    });
    rewritten.set(commitment, {
      ...(ledger.get(commitment) as AnchoredRecord),
      decisionCommitment: decisionCommitment(forged, KEY),
    });
    expect(await outcome(forged, rewritten)).toBe('adjudication-mismatch accumulatorsAfter');

    const other = new Map([
      [commitment, { ...(ledger.get(commitment) as AnchoredRecord), policyHash: '0x00' }],
    ]);
    expect(await outcome(response, other)).toBe('policy-mismatch');
    expect(await outcome(response, new Map())).toBe('not-anchored');
    expect(await outcome(response, ledger, { ...submitted, total: { value: 301, currency: 'USD' } })).toBe(
      'claim-mismatch ClaimResponse.request.identifier.value',
    );
  });
});
