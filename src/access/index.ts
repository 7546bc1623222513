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
export {
  type BreakGlassPolicy,
  type BreakGlassReader,
  type BreakGlassReservation,
  type BreakGlassSession,
  type BreakGlassSessions,
  type BreakGlassStore,
  DEFAULT_BREAK_GLASS_POLICY,
  isReservation,
  MemoryBreakGlassStore,
} from './break-glass.js';
export {
  ACT_CODE_SYSTEM,
  categorizeResource,
  SENSITIVE_CATEGORIES,
  sensitiveCategoryOf,
} from './categorize-resource.js';
export type { ConsentCheck, ConsentDecision, ConsentQuery } from './consent-check.js';
export {
  evaluateIdentification,
  IDENTIFYING_CATEGORIES,
  type IdentificationDecision,
} from './identification.js';
export {
  isLedgerAddressUnchanged,
  LEDGER_ADDRESS_SYSTEM,
  LEDGER_ADDRESS_WRITE_REFUSED,
  ledgerAddressIdentifiers,
  patientLedgerAddress,
  withLedgerAddress,
} from './patient-ledger-address.js';
export {
  type CompartmentScope,
  type GrantIndex,
  type GrantingPatients,
  listGrantingPatients,
} from './visible-compartments.js';
