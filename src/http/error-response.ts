import { CareLedgerError, type ErrorCode } from '../errors/index.js';

/** FHIR R4 OperationOutcome.issue.code values we use (http://hl7.org/fhir/R4/valueset-issue-type.html). */
type IssueType =
  | 'invalid'
  | 'processing'
  | 'not-found'
  | 'conflict'
  | 'security'
  | 'login'
  | 'forbidden'
  | 'transient'
  | 'exception'
  | 'duplicate';

/** One exhaustive table: every error code has an HTTP status and an OperationOutcome issue type. */
export const HTTP_ERRORS: Record<ErrorCode, { status: number; issue: IssueType }> = {
  ERR_INVALID_INPUT: { status: 400, issue: 'invalid' },
  ERR_CONFIG: { status: 500, issue: 'exception' },
  ERR_NOT_FOUND: { status: 404, issue: 'not-found' },
  ERR_CHAIN_UNAVAILABLE: { status: 503, issue: 'transient' },
  ERR_CHAIN_REVERTED: { status: 422, issue: 'processing' },
  ERR_SIGNATURE_INVALID: { status: 400, issue: 'security' },
  ERR_NONCE_USED: { status: 409, issue: 'duplicate' },
  ERR_NONCE_OUT_OF_ORDER: { status: 409, issue: 'conflict' },
  ERR_NOT_MEMBER: { status: 403, issue: 'forbidden' },
  ERR_OUTBOX: { status: 500, issue: 'exception' },
  ERR_STORAGE: { status: 503, issue: 'transient' },
  ERR_LOG_PROOF_INVALID: { status: 422, issue: 'invalid' },
  ERR_LOG_CHECKPOINT_INVALID: { status: 422, issue: 'invalid' },
  ERR_LOG_NOTE_INVALID: { status: 422, issue: 'invalid' },
  ERR_LOG_EQUIVOCATION: { status: 409, issue: 'conflict' },
  ERR_LOG_TILE_INVALID: { status: 422, issue: 'invalid' },
  ERR_LOG_UNAVAILABLE: { status: 503, issue: 'transient' },
  ERR_CONSENT_DENIED: { status: 403, issue: 'forbidden' },
  ERR_UNAUTHENTICATED: { status: 401, issue: 'login' },
  ERR_FORBIDDEN: { status: 403, issue: 'forbidden' },
  ERR_INTERNAL: { status: 500, issue: 'exception' },
};

export interface OperationOutcome {
  readonly resourceType: 'OperationOutcome';
  readonly issue: readonly {
    readonly severity: 'error' | 'fatal' | 'warning' | 'information';
    readonly code: IssueType;
    readonly diagnostics: string;
    readonly details?: { readonly text: string };
  }[];
}

/**
 * The error shape of every HTTP answer: a FHIR OperationOutcome. Only CareLedgerError messages reach
 * the client (they are written never to hold PHI); anything else becomes a generic 500.
 */
export function toErrorResponse(error: unknown): { status: number; body: OperationOutcome } {
  const known =
    error instanceof CareLedgerError
      ? error
      : new CareLedgerError('ERR_INTERNAL', 'internal error; the node logged the details');
  const { status, issue } = HTTP_ERRORS[known.code];
  const detail = Object.entries(known.details)
    .filter(([, value]) => typeof value === 'string' || typeof value === 'number')
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
  return {
    status,
    body: {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: status >= 500 ? 'fatal' : 'error',
          code: issue,
          diagnostics: known.message,
          details: { text: detail === '' ? known.code : `${known.code} ${detail}` },
        },
      ],
    },
  };
}
