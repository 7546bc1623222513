/**
 * Practitioner licences as W3C Verifiable Credentials (issue 21, pure core): the credential shape,
 * its vc+jwt securing, and Bitstring Status List encoding. Not yet wired into access decisions
 * (see docs/decisions/0018-practitioner-credentials.md).
 */
export {
  createStatusBitstring,
  decodeStatusList,
  encodeStatusList,
  getStatusBit,
  MIN_STATUS_LIST_BITS,
  setStatusBit,
} from './bitstring-status-list.js';
export { registerCredentialCommands } from './credential-commands.js';
export {
  type ChainIssuer,
  type ChainStatus,
  CredentialChainIndex,
  type CredentialTransactionSender,
  issuerKeyOnChain,
  PURPOSE_CODES,
  registerIssuerKeyData,
  setStatusData,
} from './credential-ledger.js';
export {
  createPractitionerCheck,
  type EnrolledPractitioner,
  loadPractitionerDirectory,
  type PractitionerCheck,
  type PractitionerCredentialsConfig,
  startPractitionerCheck,
} from './practitioner-check.js';
export {
  type BitstringStatusListEntry,
  buildLicenseCredential,
  CARELEDGER_CREDENTIALS_CONTEXT,
  type LicenseCredentialInput,
  PRACTITIONER_LICENSE_TYPE,
  type PractitionerLicenseCredential,
  type PractitionerLicenseSubject,
  parseCredential,
  practitionerDid,
  type Qualification,
  type StatusPurpose,
  V2_0360_SYSTEM,
  VC_V2_CONTEXT,
} from './practitioner-credential.js';
export {
  CREDENTIAL_REFUSAL_REASONS,
  type CredentialRefusalReason,
  decodeCredentialJwt,
  type IssuerKey,
  issueCredential,
  type StatusListSnapshot,
  VC_JWT_MEDIA_TYPE,
  type VerifyCredentialOptions,
  verifyCredential,
} from './vc-jwt.js';
export { type VerifyOnChainOptions, verifyCredentialOnChain } from './verify-on-chain.js';
