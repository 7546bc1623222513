import type { Claim, Coverage, Money } from '@medplum/fhirtypes';
import type { BenefitPolicy } from './benefit-policy.js';
import { type CodeSystemName, codeSystemForUri, DIAGNOSIS_SYSTEMS, SERVICE_SYSTEMS } from './code-systems.js';
import { parseCents } from './money.js';

/** Claim-level refusals: the claim is answered with outcome `error` and nothing is paid. */
export type ClaimErrorCode =
  | 'no-coverage'
  | 'coverage-inactive'
  | 'coverage-mismatch'
  | 'outside-coverage-period'
  | 'outside-policy-period'
  | 'filing-window-exceeded'
  | 'service-after-receipt'
  | 'missing-service-date'
  | 'duplicate'
  | 'negative-amount'
  | 'inconsistent-amounts'
  | 'currency-mismatch'
  | 'unknown-code-system';

export interface ClaimLine {
  readonly sequence: number;
  /** The first coding from a known service system, if any. */
  readonly service?: { readonly system: CodeSystemName; readonly code: string };
  readonly quantity: number;
  readonly netCents: number;
  readonly diagnoses: readonly { readonly system: CodeSystemName; readonly code: string }[];
}

export type ClaimCheck =
  | {
      readonly ok: true;
      readonly serviceStart: string;
      readonly serviceEnd: string;
      readonly lines: readonly ClaimLine[];
      readonly totalCents: number;
    }
  | { readonly ok: false; readonly error: ClaimErrorCode };

class Refusal {
  constructor(readonly error: ClaimErrorCode) {}
}

function cents(money: Money | undefined, currency: string): number | undefined {
  if (money?.value === undefined) return undefined;
  if (money.currency !== undefined && money.currency !== currency) throw new Refusal('currency-mismatch');
  let value: number;
  try {
    value = parseCents(money.value, 'amount');
  } catch {
    throw new Refusal('inconsistent-amounts');
  }
  if (value < 0) throw new Refusal('negative-amount');
  return value;
}

/** Days since 1970-01-01 of the calendar date written in a FHIR date or dateTime (its own offset). */
export function dayNumber(date: string): number {
  return Math.floor(Date.parse(`${date.slice(0, 10)}T00:00:00Z`) / 86_400_000);
}

function checkLines(claim: Claim, policy: BenefitPolicy): { lines: ClaimLine[]; totalCents: number } {
  const diagnosisBySequence = new Map<number, { system: CodeSystemName; code: string }[]>();
  for (const diagnosis of claim.diagnosis ?? []) {
    const codings = diagnosis.diagnosisCodeableConcept?.coding ?? [];
    const known = codings.flatMap((c) => {
      const name = codeSystemForUri(c.system);
      return name !== undefined && DIAGNOSIS_SYSTEMS.includes(name) && c.code !== undefined
        ? [{ system: name, code: c.code }]
        : [];
    });
    // A diagnosis by reference only (Synthea's shape) carries no code to check here.
    if (codings.length > 0 && known.length === 0) throw new Refusal('unknown-code-system');
    diagnosisBySequence.set(diagnosis.sequence, known);
  }
  let sum = 0;
  const items = claim.item ?? [];
  const total = cents(claim.total, policy.currency);
  // Synthea's convention: the encounter line carries no price, and the claim total is the encounter
  // price plus the priced lines. With exactly one such line, it is priced at the remainder.
  const unpricedEncounterLines = items.filter(
    (i) => i.net === undefined && i.unitPrice === undefined && i.encounter !== undefined,
  );
  const encounterLine =
    total !== undefined && unpricedEncounterLines.length === 1 ? unpricedEncounterLines[0] : undefined;
  const lines = items.map((item): ClaimLine => {
    const quantity = item.quantity?.value ?? 1;
    if (quantity < 0) throw new Refusal('negative-amount');
    if (!Number.isSafeInteger(quantity) || quantity === 0) throw new Refusal('inconsistent-amounts');
    if (item.factor !== undefined && item.factor !== 1) throw new Refusal('inconsistent-amounts');
    const unit = cents(item.unitPrice, policy.currency);
    const net = cents(item.net, policy.currency);
    if (unit !== undefined && net !== undefined && unit * quantity !== net)
      throw new Refusal('inconsistent-amounts');
    // Any other item with no price at all (Synthea's diagnosis lines) is a zero-amount line.
    const netCents = item === encounterLine ? 0 : (net ?? (unit === undefined ? 0 : unit * quantity));
    sum += netCents;
    const coding = (item.productOrService?.coding ?? []).find((c) => {
      const name = codeSystemForUri(c.system);
      return name !== undefined && SERVICE_SYSTEMS.includes(name) && c.code !== undefined;
    });
    const serviceSystem = codeSystemForUri(coding?.system);
    return {
      sequence: item.sequence,
      ...(serviceSystem === undefined || coding?.code === undefined
        ? {}
        : { service: { system: serviceSystem, code: coding.code } }),
      quantity,
      netCents,
      diagnoses: (item.diagnosisSequence ?? []).flatMap((seq) => diagnosisBySequence.get(seq) ?? []),
    };
  });
  if (encounterLine !== undefined && total !== undefined) {
    const remainder = total - sum;
    if (remainder < 0) throw new Refusal('inconsistent-amounts');
    const index = lines.findIndex((line) => line.sequence === encounterLine.sequence);
    lines[index] = { ...(lines[index] as ClaimLine), netCents: remainder };
    return { lines, totalCents: total };
  }
  if (total !== undefined && total !== sum) throw new Refusal('inconsistent-amounts');
  return { lines, totalCents: sum };
}

export interface CheckClaimInput {
  readonly claim: Claim;
  readonly policy: BenefitPolicy;
  readonly coverage: Coverage | undefined;
  readonly receivedAt: string;
  readonly isDuplicate: boolean;
}

/** Runs every claim-level check in a fixed order; the first failure is the reason given. */
export function checkClaim({
  claim,
  policy,
  coverage,
  receivedAt,
  isDuplicate,
}: CheckClaimInput): ClaimCheck {
  try {
    const { lines, totalCents } = checkLines(claim, policy);
    if (isDuplicate) throw new Refusal('duplicate');
    const serviceStart = claim.billablePeriod?.start ?? claim.item?.find((i) => i.servicedDate)?.servicedDate;
    if (serviceStart === undefined) throw new Refusal('missing-service-date');
    const serviceEnd = claim.billablePeriod?.end ?? serviceStart;
    const start = dayNumber(serviceStart);
    const end = dayNumber(serviceEnd);
    if (Number.isNaN(start) || Number.isNaN(end) || end < start) throw new Refusal('missing-service-date');
    if (coverage === undefined) throw new Refusal('no-coverage');
    if (coverage.status !== 'active') throw new Refusal('coverage-inactive');
    const beneficiary = coverage.beneficiary?.reference;
    if (beneficiary !== undefined && beneficiary !== claim.patient?.reference)
      throw new Refusal('coverage-mismatch');
    if (coverage.period?.start !== undefined && start < dayNumber(coverage.period.start))
      throw new Refusal('outside-coverage-period');
    if (coverage.period?.end !== undefined && end > dayNumber(coverage.period.end))
      throw new Refusal('outside-coverage-period');
    if (start < dayNumber(policy.effective.start) || start > dayNumber(policy.effective.end))
      throw new Refusal('outside-policy-period');
    if (claim.use !== 'preauthorization') {
      const received = dayNumber(receivedAt);
      if (received < end) throw new Refusal('service-after-receipt');
      if (received - end > policy.timelyFilingDays) throw new Refusal('filing-window-exceeded');
    }
    return {
      ok: true,
      serviceStart: serviceStart.slice(0, 10),
      serviceEnd: serviceEnd.slice(0, 10),
      lines,
      totalCents,
    };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, error: error.error };
    throw error;
  }
}
