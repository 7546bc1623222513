export {
  type AccessView,
  createReceiptProvenance,
  type ExchangeIndex,
  ExchangeService,
  type ExchangeServiceOptions,
  type MemberPullReport,
  type PatientView,
  type PullReport,
  RECEIVED_FROM_SYSTEM,
  type RecordView,
  type RefusedRecord,
  receivedCopy,
  VERIFIED_AGAINST_EXTENSION,
} from './exchange-service.js';
export { MemberClient, type MemberEndpoint } from './member-client.js';
export {
  type Anchor,
  type MemberLog,
  MemberLogVerifier,
  PROOF_FAILURE_REASONS,
  type ProofStatus,
} from './member-log-verifier.js';
