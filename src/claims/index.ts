import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { Address, PublicClient } from 'viem';
import type { ConsentCheck } from '../access/index.js';
import { CareLedgerError } from '../errors/index.js';
import type { Authenticate } from '../http/authenticate-request.js';
import type { Deployment, Outbox } from '../ledger/index.js';
import type { FhirRepository } from '../vault/fhir-repository.js';
import { ClaimsLedger } from './claims-ledger.js';
import { createClaimsAdminRoutes, createClaimsFhirRoutes, createClaimsRoutes } from './claims-routes.js';
import { ClaimsService } from './claims-service.js';
import { deriveCommitmentKey, loadOrCreateClaimsSecret } from './commitment-key.js';
import { type ClaimLeaseStore, createPatientClaimLease } from './patient-claim-lease.js';
import { type BenefitPolicyStorage, PolicyStore } from './policy-store.js';

export {
  type Accumulators,
  type Adjudication,
  type AdjudicationInputs,
  adjudicateClaim,
} from './adjudicate-claim.js';
export {
  type BenefitPolicy,
  type CoveredService,
  hashBenefitPolicy,
  parseBenefitPolicy,
} from './benefit-policy.js';
export { type ClaimErrorCode, checkClaim } from './check-claim.js';
export {
  disputeClaim,
  publishPolicy,
  registerClaimCommands,
  resolveDispute,
  settleClaim,
  submitClaim,
  verifyClaim,
} from './claim-commands.js';
export { claimCommitment } from './claim-commitment.js';
export { claimCategories, parseClaimSubmission } from './claim-submission.js';
export {
  type AnchoredDecision,
  type AnchoredPolicy,
  ClaimsLedger,
  toBytes32,
  toDay,
} from './claims-ledger.js';
export {
  type ClaimsRouteDeps,
  createClaimsAdminRoutes,
  createClaimsFhirRoutes,
  createClaimsRoutes,
} from './claims-routes.js';
export { ClaimsService, type SubmitResult } from './claims-service.js';
export { CODE_SYSTEMS, type CodeSystemName } from './code-systems.js';
export { deriveCommitmentKey } from './commitment-key.js';
export {
  ADJUDICATION_INPUTS_EXTENSION,
  type AnchoredRecord,
  claimAsAdjudicated,
  decisionCommitment,
  policyNamedBy,
  type RecordedInputs,
  readRecordedInputs,
  verifyClaimDecision,
} from './decision-record.js';
export { createExplanationOfBenefit, memberLiabilityOf } from './explanation-of-benefit.js';
export { divideHalfEven, parseCents } from './money.js';
export {
  type ClaimLeaseStore,
  createPatientClaimLease,
  type HeldLease,
  MemoryClaimLeaseStore,
  type WithPatientLease,
} from './patient-claim-lease.js';
export {
  type BenefitPolicyStorage,
  PolicyStore,
  type PublishedPolicy,
  type StoredBenefitPolicy,
} from './policy-store.js';
export { verifyAdjudication } from './verify-adjudication.js';

export interface ClaimsModuleDeps {
  /** The node's folder: `claims-secret.key` lives under it (and `claims/policies/` of earlier versions). */
  readonly dir: string;
  readonly deployment: Deployment;
  readonly outbox: Outbox;
  readonly client: PublicClient;
  readonly repository: FhirRepository;
  readonly consent: ConsentCheck;
  readonly memberRole: (address: Address) => Promise<number | undefined>;
  readonly organization: string;
  readonly authenticate: Authenticate;
  readonly adminToken: string;
  readonly now?: () => Date;
  /** The member's per-patient claim leases (its shared database); default: this process only. */
  readonly claimLeases?: ClaimLeaseStore;
  /** The published benefit policies, in the member's database (decision 0033). */
  readonly benefitPolicies: BenefitPolicyStorage;
}

export interface ClaimsModule {
  readonly service: ClaimsService;
  readonly ledger: ClaimsLedger;
  /** Mount under /fhir, before the generic FHIR routes. */
  readonly fhirRoutes: Hono;
  /** Mount under /claims. */
  readonly routes: Hono;
  /** Mount under /admin/claims (node operator token). */
  readonly adminRoutes: Hono;
}

/**
 * Claims at a payer member (issue 20, decision 0019): `Claim/$submit`, the published policies and
 * the operator's ledger writes. Undefined when the deployment has no ClaimsRegistry.
 */
export function createClaimsModule(deps: ClaimsModuleDeps): ClaimsModule | undefined {
  if (deps.deployment.contracts.claimsRegistry === undefined) return undefined;
  const ledger = new ClaimsLedger(deps.deployment, deps.outbox, deps.client);
  // Files kept by earlier versions move into the database on first use.
  const policies = new PolicyStore(deps.benefitPolicies, join(deps.dir, 'claims', 'policies'));
  // Created at start, not on first use, so the start-up check of the member's secrets (decision
  // 0033) sees it and records its fingerprint before any host could make a second one.
  const secret = loadOrCreateClaimsSecret(join(deps.dir, 'claims-secret.key'));
  const commitmentKey = (provider: Address) => deriveCommitmentKey(secret, provider);
  const service = new ClaimsService({
    repository: deps.repository,
    consent: deps.consent,
    memberRole: deps.memberRole,
    ledger,
    policies,
    payer: deps.outbox.address,
    organization: deps.organization,
    commitmentKey,
    ...(deps.now === undefined ? {} : { now: deps.now }),
    ...(deps.claimLeases === undefined
      ? {}
      : {
          patientLease: createPatientClaimLease({
            store: deps.claimLeases,
            holder: `${process.pid}-${randomUUID()}`,
          }),
        }),
  });
  const confirm = async (submitted: unknown) => {
    const entry = submitted as { id: number };
    const done = await deps.outbox.waitForConfirmation(entry.id, 30_000);
    if (done.receiptStatus !== 'success')
      throw new CareLedgerError('ERR_CHAIN_REVERTED', 'the transaction was mined but reverted');
  };
  const routeDeps = {
    service,
    policies,
    ledger,
    authenticate: deps.authenticate,
    adminToken: deps.adminToken,
    commitmentKey,
    confirm,
  };
  return {
    service,
    ledger,
    fhirRoutes: createClaimsFhirRoutes(routeDeps),
    routes: createClaimsRoutes(routeDeps),
    adminRoutes: createClaimsAdminRoutes(routeDeps),
  };
}
