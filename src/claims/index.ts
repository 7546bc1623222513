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
export { claimCommitment } from './claim-commitment.js';
export { CODE_SYSTEMS, type CodeSystemName } from './code-systems.js';
export { divideHalfEven, parseCents } from './money.js';
export { verifyAdjudication } from './verify-adjudication.js';
