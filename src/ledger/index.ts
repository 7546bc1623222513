export * from './codes.js';
export {
  type ConsentRelayLimitPolicy,
  ConsentRelayLimits,
  type ConsentRelayLimitsConfig,
  consentRelayLimitPolicy,
  DEFAULT_CONSENT_RELAY_LIMITS,
  type RelayLimit,
} from './consent-relay-limits.js';
export { ConsortiumLedger } from './consortium-ledger.js';
export { CONTRACT_ERROR_NAMES, contractErrorCode, describeContractError } from './contract-errors.js';
export * from './contracts.generated.js';
export { decodeRevert, toLedgerError } from './decode-revert.js';
export {
  type Deployment,
  deployContracts,
  type GenesisMember,
  loadDeployment,
  saveDeployment,
  toMemberInput,
} from './deployment.js';
export * from './eip712.js';
export { Outbox, type OutboxOptions, type OutboxRequest } from './outbox.js';
export type { OutboxEntry, OutboxStatus, OutboxStorage } from './outbox-storage.js';
