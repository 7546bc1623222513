import { createHmac } from 'node:crypto';
import type { Claim, ClaimResponse, Coverage } from '@medplum/fhirtypes';
import { CareLedgerError } from '../errors/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';
import { type Accumulators, adjudicateClaim } from './adjudicate-claim.js';
import { type BenefitPolicy, hashBenefitPolicy } from './benefit-policy.js';
import { claimCommitment } from './claim-commitment.js';
import { BENEFIT_POLICY_EXTENSION } from './code-systems.js';
import { verifyAdjudication } from './verify-adjudication.js';

/**
 * What the payer fed the engine besides the claim and the policy, carried on the stored ClaimResponse
 * (extension, JSON attachment) so anyone holding the claim can re-run the adjudication.
 */
export const ADJUDICATION_INPUTS_EXTENSION =
  'https://careledger.dev/fhir/StructureDefinition/adjudication-inputs';

export interface RecordedInputs {
  readonly receivedAt: string;
  /** The Coverage facts the engine saw (status, beneficiary, period, payor); null = none found. */
  readonly coverage: Coverage | null;
  readonly accumulatorsBefore: Accumulators;
  readonly accumulatorsAfter: Accumulators;
  /** The payer's earlier preauthorization responses the claim cites (without id and meta). */
  readonly priorAuthorizations: readonly ClaimResponse[];
  /** Whether the claim's commitment had been seen (the engine then answers `duplicate`). */
  readonly duplicate: boolean;
}

function refuse(reason: string, message: string, path?: string): never {
  throw new CareLedgerError('ERR_PRECONDITION_FAILED', message, {
    details: path === undefined ? { reason } : { reason, path },
  });
}

/** The engine's response with the inputs appended as the last extension. */
export function withRecordedInputs(response: ClaimResponse, inputs: RecordedInputs): ClaimResponse {
  return {
    ...response,
    extension: [
      ...(response.extension ?? []),
      {
        url: ADJUDICATION_INPUTS_EXTENSION,
        valueAttachment: {
          contentType: 'application/json',
          data: Buffer.from(canonicalJson(inputs), 'utf8').toString('base64'),
        },
      },
    ],
  };
}

/** Splits a stored ClaimResponse into the engine's decision and the recorded inputs. */
export function readRecordedInputs(response: ClaimResponse): {
  decision: ClaimResponse;
  inputs: RecordedInputs;
} {
  const extensions = response.extension ?? [];
  const recorded = extensions.find((e) => e.url === ADJUDICATION_INPUTS_EXTENSION);
  const data = recorded?.valueAttachment?.data;
  if (data === undefined) refuse('inputs-missing', 'the ClaimResponse carries no adjudication inputs');
  let inputs: RecordedInputs;
  try {
    inputs = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as RecordedInputs;
  } catch (cause) {
    throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'the adjudication inputs are not JSON', {
      cause,
      details: { reason: 'inputs-malformed' },
    });
  }
  const { id: _id, meta: _meta, ...rest } = response;
  const others = extensions.filter((e) => e.url !== ADJUDICATION_INPUTS_EXTENSION);
  const { extension: _extension, ...withoutExtension } = rest;
  return {
    decision: others.length === 0 ? withoutExtension : { ...withoutExtension, extension: others },
    inputs,
  };
}

/**
 * The decision's commitment as anchored: HMAC-SHA-256 (RFC 2104) of the canonical stored
 * ClaimResponse (decision and recorded inputs) without `id` and `meta`, under the claim commitment
 * key. Keyed, because amounts and codes are guessable and the claim's commitment is public.
 */
export function decisionCommitment(response: ClaimResponse, key: Uint8Array): string {
  const { id: _id, meta: _meta, ...content } = response;
  return createHmac('sha256', key).update(canonicalJson(content)).digest('hex');
}

/** `payerId|version|sha256` of the policy the response names. */
export function policyNamedBy(response: ClaimResponse): { payerId: string; version: string; hash: string } {
  const text = (response.extension ?? []).find((e) => e.url === BENEFIT_POLICY_EXTENSION)?.valueString;
  const parts = text?.split('|');
  if (parts?.length !== 3) refuse('policy-unnamed', 'the ClaimResponse names no benefit policy');
  return { payerId: parts[0] as string, version: parts[1] as string, hash: parts[2] as string };
}

/** The claim as the payer adjudicated it: the patient is named as the payer knows them. */
export function claimAsAdjudicated(claim: Claim, response: ClaimResponse): Claim {
  const { id: _id, meta: _meta, text: _text, ...content } = claim;
  return { ...content, patient: { reference: response.patient?.reference ?? '' } };
}

export interface AnchoredRecord {
  readonly decisionCommitment: string;
  /** SHA-256 of the canonical policy, as ClaimsRegistry holds it for the version used. */
  readonly policyHash: string;
}

export interface VerifyClaimDecisionInput {
  readonly claim: Claim;
  readonly policy: BenefitPolicy;
  readonly response: ClaimResponse;
  readonly commitmentKey: Uint8Array;
  /** The ledger's record for a claim commitment (this claim's, and any cited preauthorization's). */
  readonly anchored: (claimCommitment: string) => Promise<AnchoredRecord | undefined>;
}

const bare = (hex: string) => (hex.startsWith('0x') ? hex.slice(2) : hex).toLowerCase();

/**
 * Whether the payer followed its own published rules: the response is the one anchored (its keyed
 * commitment), it names the anchored policy, the claim is the one committed, each preauthorization it
 * relied on was anchored too, and a re-run of the engine on the recorded inputs gives the same
 * response and accumulators. Throws ERR_PRECONDITION_FAILED with `details.reason` (and `path` of the
 * first difference), never a value.
 */
export async function verifyClaimDecision(
  input: VerifyClaimDecisionInput,
): Promise<{ claimCommitment: string }> {
  const { response, policy, commitmentKey: key } = input;
  const claim = claimAsAdjudicated(input.claim, response);
  const commitment = claimCommitment(claim, key);
  if (response.request?.identifier?.value !== commitment)
    refuse(
      'claim-mismatch',
      'the ClaimResponse answers another claim',
      'ClaimResponse.request.identifier.value',
    );
  const anchored = await input.anchored(commitment);
  if (anchored === undefined) refuse('not-anchored', 'no decision is anchored for this claim');
  if (bare(anchored.decisionCommitment) !== decisionCommitment(response, key))
    refuse('decision-altered', 'the ClaimResponse is not the decision anchored on the ledger');
  const named = policyNamedBy(response);
  const policyHash = hashBenefitPolicy(policy);
  if (
    bare(anchored.policyHash) !== policyHash ||
    named.hash !== policyHash ||
    named.version !== policy.version
  )
    refuse('policy-mismatch', 'the policy given is not the published version the decision used');
  const { decision, inputs } = readRecordedInputs(response);
  for (const [index, preauth] of inputs.priorAuthorizations.entries()) {
    const preauthCommitment = preauth.request?.identifier?.value ?? '';
    const record = await input.anchored(preauthCommitment);
    if (record === undefined || bare(record.decisionCommitment) !== decisionCommitment(preauth, key))
      refuse(
        'preauthorization-not-anchored',
        'a preauthorization relied on is not the one anchored',
        `priorAuthorizations.${index}`,
      );
  }
  const engineInputs = {
    claim,
    policy,
    coverage: inputs.coverage ?? undefined,
    accumulators: inputs.accumulatorsBefore,
    priorAuthorizations: inputs.priorAuthorizations,
    seenCommitments: new Set(inputs.duplicate ? [commitment] : []),
    commitmentKey: key,
    receivedAt: inputs.receivedAt,
  };
  verifyAdjudication(engineInputs, decision);
  if (canonicalJson(adjudicateClaim(engineInputs).accumulators) !== canonicalJson(inputs.accumulatorsAfter))
    refuse(
      'adjudication-mismatch',
      'the accumulators after the claim do not follow from it',
      'accumulatorsAfter',
    );
  return { claimCommitment: commitment };
}
