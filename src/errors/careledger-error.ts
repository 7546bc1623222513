/**
 * One base error for the whole system (after viem's BaseError and jose's closed code list).
 * Every failure carries a code from a closed list, so callers switch on `code`, the HTTP layer maps
 * it to a status and an OperationOutcome, and the CLI maps it to an exit code.
 * Messages must never contain PHI, keys or tokens: they are written to logs and sent to clients.
 */
export const ERROR_CODES = [
  // input and configuration
  'ERR_INVALID_INPUT',
  'ERR_CONFIG',
  'ERR_NOT_FOUND',
  'ERR_PRECONDITION_FAILED',
  // well-formed but cannot be applied (a FHIRPath or JSON Patch that does not fit the resource)
  'ERR_UNPROCESSABLE',
  // a representation the server does not produce (Accept, _format) or accept (Content-Type)
  'ERR_NOT_ACCEPTABLE',
  'ERR_UNSUPPORTED_MEDIA_TYPE',
  // ledger
  'ERR_CHAIN_UNAVAILABLE',
  'ERR_CHAIN_REVERTED',
  'ERR_SIGNATURE_INVALID',
  'ERR_NONCE_USED',
  'ERR_NONCE_OUT_OF_ORDER',
  // a clinical safety check (drug–allergy) that the clinician may override with a stated reason
  'ERR_CLINICAL_WARNING',
  'ERR_NOT_MEMBER',
  'ERR_OUTBOX',
  // storage and the encrypted vault
  'ERR_STORAGE',
  'ERR_GONE',
  'ERR_DECRYPT',
  'ERR_KEYSTORE',
  // transparency log
  'ERR_LOG_PROOF_INVALID',
  'ERR_LOG_CHECKPOINT_INVALID',
  'ERR_LOG_NOTE_INVALID',
  'ERR_LOG_EQUIVOCATION',
  'ERR_LOG_TILE_INVALID',
  'ERR_LOG_UNAVAILABLE',
  // access
  'ERR_CONSENT_DENIED',
  'ERR_UNAUTHENTICATED',
  'ERR_FORBIDDEN',
  // too many failed attempts, or the node is shedding load (429 with Retry-After)
  'ERR_RATE_LIMITED',
  // another member's node failed or is unreachable (cross-member exchange)
  'ERR_UPSTREAM',
  'ERR_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class CareLedgerError extends Error {
  override readonly name: string = 'CareLedgerError';
  readonly code: ErrorCode;
  /** Machine-readable detail safe to show (no PHI): e.g. the failing check, a contract error name. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...(options?.details ?? {}) });
  }
}

export function isCareLedgerError(value: unknown): value is CareLedgerError {
  return value instanceof CareLedgerError;
}
