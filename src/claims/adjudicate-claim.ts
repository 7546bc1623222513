import type {
  Claim,
  ClaimResponse,
  ClaimResponseItem,
  ClaimResponseItemAdjudication,
  ClaimResponseTotal,
  CodeableConcept,
  Coverage,
  Money,
} from '@medplum/fhirtypes';
import { type BenefitPolicy, type CoveredService, hashBenefitPolicy } from './benefit-policy.js';
import { type ClaimLine, checkClaim, dayNumber } from './check-claim.js';
import { claimCommitment } from './claim-commitment.js';
import {
  ADJUDICATION_REASON_SYSTEM,
  ADJUDICATION_SYSTEM,
  AUTHORIZED_CODE_EXTENSION,
  BENEFIT_POLICY_EXTENSION,
  CARELEDGER_ADJUDICATION_SYSTEM,
  CARELEDGER_CLAIM_ERROR_SYSTEM,
  CARELEDGER_REASON_SYSTEM,
  CLAIM_COMMITMENT_SYSTEM,
  CODE_SYSTEMS,
} from './code-systems.js';
import { centsToDecimal, divideHalfEven } from './money.js';

/** What the member has paid towards the plan year so far, and units used per `SYSTEM|code`. */
export interface Accumulators {
  readonly deductibleMetCents: number;
  readonly outOfPocketMetCents: number;
  readonly usage: Readonly<Record<string, number>>;
}

export interface AdjudicationInputs {
  readonly claim: Claim;
  readonly policy: BenefitPolicy;
  readonly coverage: Coverage | undefined;
  readonly accumulators: Accumulators;
  /** Earlier preauthorization ClaimResponses this payer issued (cited by `Claim.insurance.preAuthRef`). */
  readonly priorAuthorizations: readonly ClaimResponse[];
  /** Commitments of claims already adjudicated (see claimCommitment). */
  readonly seenCommitments: ReadonlySet<string>;
  readonly commitmentKey: Uint8Array;
  /** When the payer received the claim (ISO 8601): the only notion of time the engine has. */
  readonly receivedAt: string;
}

export interface Adjudication {
  readonly claimResponse: ClaimResponse;
  readonly accumulators: Accumulators;
  readonly commitment: string;
}

type ItemReason =
  | { system: typeof ADJUDICATION_REASON_SYSTEM; code: 'ar001' | 'ar002' }
  | {
      system: typeof CARELEDGER_REASON_SYSTEM;
      code: 'unknown-code-system' | 'preauth-missing' | 'diagnosis-not-covered';
    };

const NOT_COVERED = { system: ADJUDICATION_REASON_SYSTEM, code: 'ar001' } as const; // "Not covered"
const LIMIT_REACHED = { system: ADJUDICATION_REASON_SYSTEM, code: 'ar002' } as const; // "Plan Limit Reached"

function concept(system: string, code: string): CodeableConcept {
  return { coding: [{ system, code }] };
}

function money(cents: number, currency: string): Money {
  return { value: centsToDecimal(cents), currency: currency as Money['currency'] };
}

interface LineResult {
  readonly submitted: number;
  readonly eligible: number;
  readonly copay: number;
  readonly deductible: number;
  readonly coinsurance: number;
  readonly benefit: number;
  readonly reason?: ItemReason;
  readonly authorized?: { system: string; code: string };
}

const CATEGORIES = [
  ['submitted', ADJUDICATION_SYSTEM],
  ['eligible', ADJUDICATION_SYSTEM],
  ['copay', ADJUDICATION_SYSTEM],
  ['deductible', ADJUDICATION_SYSTEM],
  ['coinsurance', CARELEDGER_ADJUDICATION_SYSTEM],
  ['benefit', ADJUDICATION_SYSTEM],
] as const;

function adjudications(result: LineResult, currency: string): ClaimResponseItemAdjudication[] {
  return CATEGORIES.map(([category, system]) => ({
    category: concept(system, category),
    ...(category === 'submitted' && result.reason !== undefined
      ? { reason: concept(result.reason.system, result.reason.code) }
      : {}),
    amount: money(result[category], currency),
  }));
}

function hasPriorAuthorization(
  inputs: AdjudicationInputs,
  rule: CoveredService,
  serviceStart: string,
): boolean {
  const cited = new Set((inputs.claim.insurance ?? []).flatMap((insurance) => insurance.preAuthRef ?? []));
  const system = CODE_SYSTEMS[rule.system];
  return inputs.priorAuthorizations.some(
    (response) =>
      response.use === 'preauthorization' &&
      response.outcome === 'complete' &&
      response.preAuthRef !== undefined &&
      cited.has(response.preAuthRef) &&
      response.patient?.reference === inputs.claim.patient?.reference &&
      response.preAuthPeriod?.start !== undefined &&
      response.preAuthPeriod.end !== undefined &&
      dayNumber(serviceStart) >= dayNumber(response.preAuthPeriod.start) &&
      dayNumber(serviceStart) <= dayNumber(response.preAuthPeriod.end) &&
      (response.item ?? []).some((item) =>
        (item.extension ?? []).some(
          (ext) =>
            ext.url === AUTHORIZED_CODE_EXTENSION &&
            ext.valueCoding?.system === system &&
            ext.valueCoding.code === rule.code,
        ),
      ),
  );
}

/**
 * One line, in the order payers apply cost sharing: the copay first, then the remaining deductible,
 * then coinsurance on the rest (rounded half-even to the cent); the patient's share is then capped
 * at what is left of the out-of-pocket maximum, reducing coinsurance first, then copay, then the
 * deductible part. Mutates `acc` (the running accumulators of this claim).
 */
function adjudicateLine(
  inputs: AdjudicationInputs,
  line: ClaimLine,
  serviceStart: string,
  acc: { deductible: number; oop: number; usage: Record<string, number> },
): LineResult {
  const { policy } = inputs;
  const denied = (reason: ItemReason): LineResult => ({
    submitted: line.netCents,
    eligible: 0,
    copay: 0,
    deductible: 0,
    coinsurance: 0,
    benefit: 0,
    reason,
  });
  if (line.service === undefined)
    return denied({ system: CARELEDGER_REASON_SYSTEM, code: 'unknown-code-system' });
  const { system, code } = line.service;
  const rule = policy.services.find((r) => r.system === system && r.code === code);
  if (rule === undefined) return denied(NOT_COVERED);
  const covered = policy.diagnoses;
  if (
    covered !== undefined &&
    line.diagnoses.length > 0 &&
    !line.diagnoses.some((d) => covered.some((c) => c.system === d.system && c.code === d.code))
  ) {
    return denied({ system: CARELEDGER_REASON_SYSTEM, code: 'diagnosis-not-covered' });
  }
  const usageKey = `${system}|${code}`;
  const used = acc.usage[usageKey] ?? 0;
  if (rule.limitPerPeriod !== undefined && used + line.quantity > rule.limitPerPeriod)
    return denied(LIMIT_REACHED);
  const isPreauth = inputs.claim.use === 'preauthorization';
  if (rule.priorAuthorization && !isPreauth && !hasPriorAuthorization(inputs, rule, serviceStart)) {
    return denied({ system: CARELEDGER_REASON_SYSTEM, code: 'preauth-missing' });
  }
  const eligible =
    rule.allowedCents === undefined
      ? line.netCents
      : Math.min(line.netCents, rule.allowedCents * line.quantity);
  let copay = Math.min(
    rule.copayCents ?? (rule.class === undefined ? 0 : (policy.classCopayCents[rule.class] ?? 0)),
    eligible,
  );
  let deductible = Math.min(eligible - copay, Math.max(0, policy.deductibleCents - acc.deductible));
  let coinsurance = divideHalfEven((eligible - copay - deductible) * policy.coinsuranceBasisPoints, 10_000);
  let excess = copay + deductible + coinsurance - Math.max(0, policy.outOfPocketMaxCents - acc.oop);
  if (excess > 0) {
    const fromCoinsurance = Math.min(excess, coinsurance);
    coinsurance -= fromCoinsurance;
    excess -= fromCoinsurance;
    const fromCopay = Math.min(excess, copay);
    copay -= fromCopay;
    excess -= fromCopay;
    deductible -= excess;
  }
  acc.deductible += deductible;
  acc.oop += copay + deductible + coinsurance;
  acc.usage[usageKey] = used + line.quantity;
  return {
    submitted: line.netCents,
    eligible,
    copay,
    deductible,
    coinsurance,
    benefit: eligible - copay - deductible - coinsurance,
    ...(isPreauth ? { authorized: { system: CODE_SYSTEMS[system], code } } : {}),
  };
}

function sortedUsage(usage: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(usage).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The deterministic adjudication engine: the same inputs give a byte-identical ClaimResponse (in
 * canonical JSON) and accumulators. No clock, no randomness, no I/O; `receivedAt` stands for "now".
 * A preauthorization (`Claim.use = preauthorization`) is adjudicated the same way as an estimate,
 * leaves the accumulators unchanged and returns a `preAuthRef` a later claim cites.
 */
export function adjudicateClaim(inputs: AdjudicationInputs): Adjudication {
  const { claim, policy } = inputs;
  const commitment = claimCommitment(claim, inputs.commitmentKey);
  const policyHash = hashBenefitPolicy(policy);
  const use = claim.use ?? 'claim';
  const base: ClaimResponse = {
    resourceType: 'ClaimResponse',
    extension: [
      { url: BENEFIT_POLICY_EXTENSION, valueString: `${policy.payerId}|${policy.version}|${policyHash}` },
    ],
    status: 'active',
    type: claim.type ?? concept('http://terminology.hl7.org/CodeSystem/claim-type', 'professional'),
    use,
    patient: { reference: claim.patient?.reference ?? '' },
    created: inputs.receivedAt,
    insurer: { identifier: { value: policy.payerId } },
    ...(claim.provider === undefined ? {} : { requestor: claim.provider }),
    request: { identifier: { system: CLAIM_COMMITMENT_SYSTEM, value: commitment } },
    outcome: 'complete',
  };
  const check = checkClaim({ ...inputs, isDuplicate: inputs.seenCommitments.has(commitment) });
  if (!check.ok) {
    return {
      commitment,
      accumulators: { ...inputs.accumulators, usage: sortedUsage(inputs.accumulators.usage) },
      claimResponse: {
        ...base,
        outcome: 'error',
        disposition: `refused: ${check.error}`,
        payment: {
          type: concept('http://terminology.hl7.org/CodeSystem/ex-paymenttype', 'complete'),
          amount: money(0, policy.currency),
        },
        error: [{ code: concept(CARELEDGER_CLAIM_ERROR_SYSTEM, check.error) }],
      },
    };
  }
  const acc = {
    deductible: inputs.accumulators.deductibleMetCents,
    oop: inputs.accumulators.outOfPocketMetCents,
    usage: { ...inputs.accumulators.usage },
  };
  const lines = [...check.lines].sort((a, b) => a.sequence - b.sequence);
  const results = lines.map((line) => adjudicateLine(inputs, line, check.serviceStart, acc));
  const items: ClaimResponseItem[] = lines.map((line, index) => {
    const result = results[index] as LineResult;
    return {
      itemSequence: line.sequence,
      ...(result.authorized === undefined
        ? {}
        : { extension: [{ url: AUTHORIZED_CODE_EXTENSION, valueCoding: result.authorized }] }),
      adjudication: adjudications(result, policy.currency),
    };
  });
  const totals: ClaimResponseTotal[] = CATEGORIES.map(([category, system]) => ({
    category: concept(system, category),
    amount: money(
      results.reduce((sum, r) => sum + r[category], 0),
      policy.currency,
    ),
  }));
  const benefit = results.reduce((sum, r) => sum + r.benefit, 0);
  const denied = results.filter((r) => r.reason !== undefined).length;
  const isPreauth = use === 'preauthorization';
  const claimResponse: ClaimResponse = {
    ...base,
    disposition: denied === 0 ? 'adjudicated' : `adjudicated: ${denied} of ${results.length} items denied`,
    ...(isPreauth
      ? {
          preAuthRef: `PA-${commitment.slice(0, 32)}`,
          preAuthPeriod: {
            start: check.serviceStart,
            end: addDays(check.serviceStart, policy.priorAuthorizationValidDays),
          },
        }
      : {}),
    item: items,
    total: totals,
    ...(isPreauth
      ? {}
      : {
          payment: {
            type: concept('http://terminology.hl7.org/CodeSystem/ex-paymenttype', 'complete'),
            amount: money(benefit, policy.currency),
          },
        }),
  };
  const accumulators: Accumulators = isPreauth
    ? { ...inputs.accumulators, usage: sortedUsage(inputs.accumulators.usage) }
    : { deductibleMetCents: acc.deductible, outOfPocketMetCents: acc.oop, usage: sortedUsage(acc.usage) };
  return { commitment, accumulators, claimResponse };
}

function addDays(date: string, days: number): string {
  return new Date((dayNumber(date) + days) * 86_400_000).toISOString().slice(0, 10);
}
