export {
  type ConsentDecision,
  type ConsentQuery,
  evaluateConsent,
  isGrantEffective,
} from './evaluate-consent.js';
