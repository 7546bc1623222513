import type { Claim, ClaimResponse, Coverage, Resource } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import type { ConsentCheck } from '../access/index.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { encodeCategories, encodePurposes, MEMBER_ROLES } from '../ledger/index.js';
import type { FhirRepository } from '../vault/fhir-repository.js';
import { type Accumulators, adjudicateClaim } from './adjudicate-claim.js';
import { dayNumber } from './check-claim.js';
import { type ClaimSubmission, claimCategories, parseClaimSubmission } from './claim-submission.js';
import type { ClaimsLedger } from './claims-ledger.js';
import { BENEFIT_POLICY_EXTENSION, CARELEDGER_CLAIM_ERROR_SYSTEM } from './code-systems.js';
import { decisionCommitment, readRecordedInputs, withRecordedInputs } from './decision-record.js';
import { createExplanationOfBenefit } from './explanation-of-benefit.js';
import { centsToDecimal, parseCents } from './money.js';
import {
  createPatientClaimLease,
  type HeldLease,
  MemoryClaimLeaseStore,
  type WithPatientLease,
} from './patient-claim-lease.js';
import type { PolicyStore } from './policy-store.js';

const BILLING_ROLES: ReadonlySet<number> = new Set([
  MEMBER_ROLES.provider,
  MEMBER_ROLES.lab,
  MEMBER_ROLES.pharmacy,
]);
const ZERO: Accumulators = { deductibleMetCents: 0, outOfPocketMetCents: 0, usage: {} };

export interface ClaimsServiceOptions {
  readonly repository: Pick<
    FhirRepository,
    'create' | 'search' | 'patientIdByLedgerAddress' | 'recordDenied'
  >;
  /** The node's consent decisions (ledger index), as every FHIR read asks them. */
  readonly consent: ConsentCheck;
  /** An active member's role number, or undefined (the ledger index). */
  readonly memberRole: (address: Address) => Promise<number | undefined>;
  readonly ledger: Pick<ClaimsLedger, 'anchorDecision'>;
  readonly policies: PolicyStore;
  /** This payer's ledger address: the grantee of the patients' HPAYMT grants. */
  readonly payer: Address;
  readonly organization: string;
  /** The claim commitment key this payer shares with a provider (claimCommitment, decisionCommitment). */
  readonly commitmentKey: (provider: Address) => Uint8Array;
  readonly now?: () => Date;
  /**
   * The per-patient critical section shared by every process of this payer (a lease row in the
   * member's database); default: this process only.
   */
  readonly patientLease?: WithPatientLease;
}

export interface SubmitResult {
  readonly claimResponse: ClaimResponse;
  /** Whether the decision went into the outbox for ClaimsRegistry. */
  readonly anchored: boolean;
}

/**
 * The payer's side of `Claim/$submit`: who may submit (an active billing member's system), the
 * patient's HPAYMT consent to this payer for what the claim discloses, the payer's own Coverage and
 * earlier decisions (accumulators, preauthorizations, duplicates) read through the vault's audited
 * gateway, the engine's decision stored with its inputs, anchored through the outbox, and the
 * patient's ExplanationOfBenefit. Submissions are taken one at a time in this process, and each holds
 * its patient's lease (shared by the member's processes) from reading earlier decisions to storing
 * its own, so accumulators add up across `node start --workers N` too.
 */
export class ClaimsService {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => Date;
  /** The adjudicator as the vault sees it: the payer's own staff, for healthcare operations. */
  private readonly staff: AccessContext;
  private readonly patientLease: WithPatientLease;

  constructor(private readonly options: ClaimsServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.patientLease =
      options.patientLease ??
      createPatientClaimLease({ store: new MemoryClaimLeaseStore(), holder: 'this-process' });
    this.staff = {
      who: 'Practitioner/claims-adjudicator',
      organization: options.organization,
      purpose: 'HOPERAT',
      roles: ['clinician'],
    };
  }

  submit(body: unknown, context: AccessContext): Promise<SubmitResult> {
    const run = this.queue.then(() => this.submitNow(body, context));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The requester: an active member that bills (provider, lab, pharmacy), with a system scope for Claim. */
  async verifySubmitter(context: AccessContext): Promise<Address> {
    const member = context.member;
    if (member === undefined)
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'claims are submitted by a member system (SMART Backend Services)',
        {
          details: { reason: 'not-a-member-system' },
        },
      );
    const scoped =
      context.scopes === undefined ||
      context.scopes.some(
        (s) =>
          s.kind === 'resource' &&
          s.context === 'system' &&
          (s.resourceType === '*' || s.resourceType === 'Claim'),
      );
    if (!scoped)
      throw new CareLedgerError('ERR_FORBIDDEN', 'the token has no system scope for Claim', {
        details: { reason: 'scope', oauth: 'insufficient_scope' },
      });
    const role = await this.options.memberRole(member);
    if (role === undefined || !BILLING_ROLES.has(role))
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'only an active provider, lab or pharmacy member submits claims',
        {
          details: { reason: 'not-a-claimant' },
        },
      );
    return member;
  }

  private async submitNow(body: unknown, context: AccessContext): Promise<SubmitResult> {
    const provider = await this.verifySubmitter(context);
    const submission = parseClaimSubmission(body);
    return this.patientLease(submission.patientAddress, (lease) =>
      this.adjudicateFor(provider, submission, context, lease),
    );
  }

  private async adjudicateFor(
    provider: Address,
    { claim: submitted, patientAddress }: ClaimSubmission,
    context: AccessContext,
    lease: HeldLease,
  ): Promise<SubmitResult> {
    const receivedAt = this.now().toISOString();
    const patientId = await this.options.repository.patientIdByLedgerAddress(patientAddress);
    const categories = claimCategories(submitted);
    const consent =
      patientId === undefined
        ? undefined
        : await this.options.consent({
            patient: patientAddress,
            grantee: this.options.payer,
            category: encodeCategories(categories),
            purpose: encodePurposes(['HPAYMT']),
            at: Math.floor(this.now().getTime() / 1000),
          });
    if (patientId === undefined || consent?.allowed !== true) {
      const reason = patientId === undefined ? 'unknown-patient' : 'consent-missing';
      await this.options.repository.recordDenied('operation', context, {
        entity: 'Claim/$submit',
        ...(patientId === undefined ? {} : { patient: `Patient/${patientId}` }),
        reason: `claim refused: ${reason}`,
      });
      return { claimResponse: await this.refusal(submitted, reason, receivedAt), anchored: false };
    }
    const patient = `Patient/${patientId}`;
    const { id: _id, meta: _meta, text: _text, ...content } = submitted;
    const claim: Claim = { ...content, patient: { reference: patient } };
    const serviceDate = claim.billablePeriod?.start ?? claim.item?.find((i) => i.servicedDate)?.servicedDate;
    const published = await this.options.policies.inForce(serviceDate);
    if (published === undefined)
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'this payer has published no benefit policy', {
        details: { reason: 'no-policy' },
      });
    const { policy } = published;
    const [coverage, earlier] = await Promise.all([
      this.coverageFor(patient, claim, serviceDate),
      this.earlierDecisions(patient),
    ]);
    const seen = new Set(
      earlier.filter((r) => r.outcome === 'complete').flatMap((r) => r.request?.identifier?.value ?? []),
    );
    const cited = new Set((claim.insurance ?? []).flatMap((i) => i.preAuthRef ?? []));
    const priorAuthorizations = earlier
      .filter((r) => r.use === 'preauthorization' && r.preAuthRef !== undefined && cited.has(r.preAuthRef))
      .map(({ id: _i, meta: _m, ...rest }) => rest as ClaimResponse);
    const accumulators = this.accumulatorsFor(
      earlier,
      `${policy.payerId}|${policy.version}|${published.hash}`,
    );
    const key = this.options.commitmentKey(provider);
    const inputs = {
      claim,
      policy,
      coverage: coverage?.engine,
      accumulators,
      priorAuthorizations,
      seenCommitments: seen,
      commitmentKey: key,
      receivedAt,
    };
    const result = adjudicateClaim(inputs);
    const duplicate = seen.has(result.commitment);
    const decided = withRecordedInputs(result.claimResponse, {
      receivedAt,
      coverage: coverage?.engine ?? null,
      accumulatorsBefore: accumulators,
      accumulatorsAfter: result.accumulators,
      priorAuthorizations,
      duplicate,
    });
    if (duplicate) return { claimResponse: decided, anchored: false };
    const complete = decided.outcome === 'complete';
    if (complete) {
      // Anchored first (the outbox is durable): a decision is never stored here without its anchor.
      await lease.confirm();
      await this.options.ledger.anchorDecision({
        claimCommitment: result.commitment,
        provider,
        policyVersion: policy.version,
        decisionCommitment: decisionCommitment(decided, key),
        amountDueCents:
          decided.payment?.amount?.value === undefined
            ? 0
            : parseCents(decided.payment.amount.value, 'payment'),
        currency: policy.currency,
      });
    }
    // Three writes, not one transaction Bundle: a claim's `urn:uuid:` references (Synthea's provider,
    // diagnoses) point outside it, and a transaction would have to resolve them.
    await lease.confirm();
    const storedClaim = (await this.options.repository.create(claim, this.staff)) as Claim;
    const stored = (await this.options.repository.create(decided, this.staff)) as ClaimResponse;
    if (complete && claim.use === 'claim') {
      await this.options.repository.create(
        createExplanationOfBenefit(claim, stored, {
          claimId: storedClaim.id as string,
          claimResponseId: stored.id as string,
          ...(coverage?.id === undefined ? {} : { coverageId: coverage.id }),
        }),
        this.staff,
      );
    }
    return { claimResponse: stored, anchored: complete };
  }

  /** A refusal before adjudication (no patient here, no consent): nothing stored, nothing anchored. */
  private async refusal(claim: Claim, code: string, receivedAt: string): Promise<ClaimResponse> {
    const currency = (await this.options.policies.inForce(undefined))?.policy.currency ?? 'USD';
    return {
      resourceType: 'ClaimResponse',
      status: 'active',
      type: claim.type ?? {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }],
      },
      use: claim.use ?? 'claim',
      patient: { display: 'not disclosed' },
      created: receivedAt,
      insurer: { display: this.options.organization },
      outcome: 'error',
      disposition: `refused: ${code}`,
      payment: {
        type: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/ex-paymenttype', code: 'complete' }],
        },
        amount: {
          value: centsToDecimal(0),
          currency: currency as 'USD',
        },
      },
      error: [{ code: { coding: [{ system: CARELEDGER_CLAIM_ERROR_SYSTEM, code }] } }],
    };
  }

  private async search(type: string, query: Record<string, string>): Promise<Resource[]> {
    const result = await this.options.repository.search(
      type,
      new URLSearchParams({ ...query, _count: '1000' }),
      this.staff,
      { handling: 'lenient' },
    );
    return result.resources;
  }

  /**
   * The payer's own Coverage of the patient: the one the claim names (`Coverage/id`) if it is theirs,
   * else an active one in force on the service date, else any. The engine sees only the facts it
   * judges (status, beneficiary, period, payor), which are recorded with the decision.
   */
  private async coverageFor(
    patient: string,
    claim: Claim,
    serviceDate: string | undefined,
  ): Promise<{ id: string | undefined; engine: Coverage } | undefined> {
    const all = (await this.search('Coverage', { beneficiary: patient })) as Coverage[];
    const named = (claim.insurance ?? []).map((i) => i.coverage?.reference).filter((r) => r !== undefined);
    const day = serviceDate === undefined ? Number.NaN : dayNumber(serviceDate);
    const inForce = (c: Coverage) =>
      c.status === 'active' &&
      (c.period?.start === undefined || dayNumber(c.period.start) <= day) &&
      (c.period?.end === undefined || day <= dayNumber(c.period.end));
    const chosen = all.find((c) => named.includes(`Coverage/${c.id}`)) ?? all.find(inForce) ?? all[0];
    if (chosen === undefined) return undefined;
    return {
      id: chosen.id,
      engine: {
        resourceType: 'Coverage',
        status: chosen.status,
        beneficiary: { reference: patient },
        ...(chosen.period === undefined ? {} : { period: chosen.period }),
        payor: [{ display: this.options.organization }],
      },
    };
  }

  /** The payer's earlier decisions for the patient, oldest first (created, then id). */
  private async earlierDecisions(patient: string): Promise<ClaimResponse[]> {
    const responses = (await this.search('ClaimResponse', { patient })) as ClaimResponse[];
    return responses.sort((a, b) =>
      (a.created ?? '') !== (b.created ?? '')
        ? (a.created ?? '') < (b.created ?? '')
          ? -1
          : 1
        : (a.id ?? '') < (b.id ?? '')
          ? -1
          : 1,
    );
  }

  /** Accumulators after the latest paid claim under the same policy version (its plan year). */
  private accumulatorsFor(earlier: readonly ClaimResponse[], policyName: string): Accumulators {
    const latest = earlier
      .filter(
        (r) =>
          r.use === 'claim' &&
          r.outcome === 'complete' &&
          (r.extension ?? []).some((e) => e.url === BENEFIT_POLICY_EXTENSION && e.valueString === policyName),
      )
      .at(-1);
    return latest === undefined ? ZERO : readRecordedInputs(latest).inputs.accumulatorsAfter;
  }
}
