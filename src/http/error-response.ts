import { CareLedgerError, type ErrorCode } from '../errors/index.js';
import { createOperationOutcomeFromError, OUTCOME_BY_ERROR_CODE } from '../fhir/operation-outcome.js';

/** One exhaustive table: the HTTP status of every error code. The body is always an OperationOutcome. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  ERR_INVALID_INPUT: 400,
  ERR_CONFIG: 500,
  ERR_NOT_FOUND: 404,
  ERR_PRECONDITION_FAILED: 412,
  ERR_UNPROCESSABLE: 422,
  ERR_NOT_ACCEPTABLE: 406,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_CHAIN_UNAVAILABLE: 503,
  ERR_CHAIN_REVERTED: 422,
  ERR_SIGNATURE_INVALID: 400,
  ERR_NONCE_USED: 409,
  ERR_NONCE_OUT_OF_ORDER: 409,
  ERR_CLINICAL_WARNING: 409,
  ERR_NOT_MEMBER: 403,
  ERR_OUTBOX: 500,
  ERR_STORAGE: 503,
  ERR_GONE: 410,
  ERR_DECRYPT: 500,
  ERR_KEYSTORE: 500,
  ERR_LOG_PROOF_INVALID: 422,
  ERR_LOG_CHECKPOINT_INVALID: 422,
  ERR_LOG_NOTE_INVALID: 422,
  ERR_LOG_EQUIVOCATION: 409,
  ERR_LOG_TILE_INVALID: 422,
  ERR_LOG_UNAVAILABLE: 503,
  ERR_CONSENT_DENIED: 403,
  ERR_UNAUTHENTICATED: 401,
  ERR_FORBIDDEN: 403,
  ERR_RATE_LIMITED: 429,
  ERR_UPSTREAM: 502,
  ERR_INTERNAL: 500,
};

/**
 * The error answer of every HTTP endpoint: the status from the table above and a FHIR OperationOutcome
 * (src/fhir/operation-outcome.ts). Only CareLedgerError messages reach the client (they are written
 * never to hold PHI); anything else becomes a generic 500 whose details stay in the node's log.
 */
export function toErrorResponse(error: unknown): {
  status: number;
  body: ReturnType<typeof createOperationOutcomeFromError>;
} {
  const code = error instanceof CareLedgerError ? error.code : 'ERR_INTERNAL';
  return { status: HTTP_STATUS[code], body: createOperationOutcomeFromError(error) };
}

/** Status and OperationOutcome issue type per error code, for the API description (OpenAPI). */
export const HTTP_ERRORS: Record<ErrorCode, { status: number; issue: string }> = Object.fromEntries(
  Object.entries(HTTP_STATUS).map(([code, status]) => [
    code,
    { status, issue: OUTCOME_BY_ERROR_CODE[code as ErrorCode].code },
  ]),
) as Record<ErrorCode, { status: number; issue: string }>;
