export { type Base32Options, encodeBase32, parseBase32 } from './base32.js';
export {
  createLedgerKeyProofTypedData,
  LEDGER_KEY_PROOF_DOMAIN,
  type LedgerKeyChallenge,
  type LedgerKeyProofFailure,
  ledgerKeyProofError,
  verifyLedgerKeyProof,
} from './ledger-key-proof.js';
export {
  createPasswordHash,
  isPasswordCorrect,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  type PasswordHash,
  type PasswordHashOptions,
  parsePasswordHash,
} from './password-hash.js';
export {
  type CreatePatientKeystoreOptions,
  createPatientKey,
  createPatientKeystore,
  DEFAULT_PATIENT_KEYSTORE_N,
  MIN_PATIENT_KEYSTORE_N,
  openPatientKeystore,
  type PatientKeystore,
  parsePatientKeystore,
  type ReadPatientKeystoreOptions,
} from './patient-keystore.js';
export {
  type CombineSharesOptions,
  combineShares,
  formatShare,
  type GuardianShare,
  MAX_SECRET_SIZE,
  parseShare,
  type Share,
  type ShareLabel,
  type SplitSecretOptions,
  splitSecret,
} from './shamir.js';
export {
  createTotpSecret,
  createTotpUri,
  type EvaluateTotpOptions,
  evaluateTotp,
  generateTotp,
  TOTP_PERIOD_SECONDS,
  type TotpAlgorithm,
  type TotpOptions,
  type TotpUriInput,
  type TotpVerification,
} from './totp.js';
