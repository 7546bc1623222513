export {
  type ConsentDecision,
  type ConsentQuery,
  evaluateConsent,
  isGrantEffective,
} from './evaluate-consent.js';
export {
  parseSignedGrant,
  parseSignedRevoke,
  type SignedGrant,
  type SignedRevoke,
} from './parse-signed-consent.js';
