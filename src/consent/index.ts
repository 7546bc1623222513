export {
  type ConsentDecision,
  type ConsentQuery,
  evaluateConsent,
  isGrantEffective,
} from './evaluate-consent.js';
export {
  CONSENT_GRANT_SYSTEM,
  type ConsentLedgerCheck,
  DATA_CATEGORY_SYSTEM,
  LEDGER_CONSENT_EXTENSION,
  ledgerConsentValue,
  toLedgerGrant,
  withLedgerConsentValues,
} from './fhir-consent.js';
export { type ConsentRecordStore, FhirConsentService } from './fhir-consent-service.js';
export {
  type IsDelegate,
  parseSignedDelegation,
  parseSignedGrant,
  parseSignedRevoke,
  type SignedDelegation,
  type SignedGrant,
  type SignedRevoke,
} from './parse-signed-consent.js';
