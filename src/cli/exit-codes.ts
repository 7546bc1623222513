import { CareLedgerError, type ErrorCode } from '../errors/index.js';

/** BSD sysexits(3) values, the convention for command-line tools. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 64,
  dataErr: 65,
  noInput: 66,
  unavailable: 69,
  software: 70,
  tempFail: 75,
  noPerm: 77,
  config: 78,
} as const;

/** One exhaustive table from error codes to exit codes. */
export const EXIT_CODES: Record<ErrorCode, number> = {
  ERR_INVALID_INPUT: EXIT.dataErr,
  ERR_CONFIG: EXIT.config,
  ERR_NOT_FOUND: EXIT.noInput,
  ERR_PRECONDITION_FAILED: EXIT.dataErr,
  ERR_UNPROCESSABLE: EXIT.dataErr,
  ERR_NOT_ACCEPTABLE: EXIT.software,
  ERR_UNSUPPORTED_MEDIA_TYPE: EXIT.software,
  ERR_CHAIN_UNAVAILABLE: EXIT.unavailable,
  ERR_CHAIN_REVERTED: EXIT.dataErr,
  ERR_SIGNATURE_INVALID: EXIT.dataErr,
  ERR_NONCE_USED: EXIT.dataErr,
  ERR_NONCE_OUT_OF_ORDER: EXIT.tempFail,
  ERR_CLINICAL_WARNING: EXIT.dataErr,
  ERR_NOT_MEMBER: EXIT.noPerm,
  ERR_OUTBOX: EXIT.software,
  ERR_STORAGE: EXIT.tempFail,
  ERR_GONE: EXIT.noInput,
  ERR_DECRYPT: EXIT.dataErr,
  ERR_KEYSTORE: EXIT.config,
  ERR_LOG_PROOF_INVALID: EXIT.dataErr,
  ERR_LOG_CHECKPOINT_INVALID: EXIT.dataErr,
  ERR_LOG_NOTE_INVALID: EXIT.dataErr,
  ERR_LOG_EQUIVOCATION: EXIT.dataErr,
  ERR_LOG_TILE_INVALID: EXIT.dataErr,
  ERR_LOG_UNAVAILABLE: EXIT.unavailable,
  ERR_CONSENT_DENIED: EXIT.noPerm,
  ERR_UNAUTHENTICATED: EXIT.noPerm,
  ERR_FORBIDDEN: EXIT.noPerm,
  ERR_RATE_LIMITED: EXIT.tempFail,
  ERR_UPSTREAM: EXIT.unavailable,
  ERR_INTERNAL: EXIT.software,
};

export function exitCodeFor(error: unknown): number {
  return error instanceof CareLedgerError ? EXIT_CODES[error.code] : EXIT.software;
}

/**
 * A command given without something it needs (an argument, an option, a demo folder to default to):
 * printed as one line that says what to add, exit 64 (EX_USAGE).
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
