export {
  AccessPolicy,
  type AccessPolicyOptions,
  evaluateTokenScopes,
  type InteractionDecision,
  isStaffRole,
  parseRequester,
  type Requester,
  type ResourceDecision,
  type ResourceFacts,
  STAFF_ROLES,
  type StaffRole,
} from './access-policy.js';
export { type BreakGlassSession, type BreakGlassStore, MemoryBreakGlassStore } from './break-glass.js';
export {
  ACT_CODE_SYSTEM,
  categorizeResource,
  SENSITIVE_CATEGORIES,
  sensitiveCategoryOf,
} from './categorize-resource.js';
export type { ConsentCheck, ConsentDecision, ConsentQuery } from './consent-check.js';
export { LEDGER_ADDRESS_SYSTEM, patientLedgerAddress } from './patient-ledger-address.js';
