export {
  type ConsentOpening,
  type ConsentOpeningStore,
  evaluateOpening,
  MemoryConsentOpeningStore,
  type OpeningFault,
} from './consent-opening.js';
export {
  createOpeningDelivery,
  type DeliverOpening,
  type OpeningDelivery,
  openingBody,
  openingRecipients,
} from './deliver-opening.js';
export { deriveWardDelegateKey } from './derive-ward-delegate-key.js';
export {
  type ConsentDecision,
  type ConsentQuery,
  type EvaluateConsentOptions,
  evaluateConsent,
  type GrantTerms,
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
export { type DelegationInForce, recoverGrantSigner } from './grant-signer.js';
export { createOpeningFanOut, type OpeningFanOutOptions } from './opening-fan-out.js';
export {
  type GuardianAttestation,
  type IsDelegate,
  parseConsentOpening,
  parseGuardianAttestation,
  parseSignedDelegation,
  parseSignedGrant,
  parseSignedRevoke,
  type SignedDelegation,
  type SignedGrant,
  type SignedRevoke,
} from './parse-signed-consent.js';
export { createWardDelegate, type WardDelegate } from './ward-delegate.js';
