export {
  type EnrolOverHttpOptions,
  type EnrolOverHttpResult,
  enrolLedgerKeyOverHttp,
} from './enrol-ledger-key-over-http.js';
export type { LedgerKeyChallengeStore, StoredLedgerKeyChallenge } from './ledger-key-challenge-store.js';
export {
  DEFAULT_CHALLENGE_TTL_SECONDS,
  type IssuedLedgerKeyChallenge,
  LedgerKeyEnrolment,
  type LedgerKeyEnrolmentOptions,
} from './ledger-key-enrolment.js';
export { createLedgerKeyEnrolmentRoutes } from './ledger-key-enrolment-routes.js';
