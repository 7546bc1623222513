/**
 * EPCIS 2.0 REST errors (EPCIS 2.0 §12, openapi.yaml): RFC 7807 problem details
 * (`application/problem+json`) whose `type` names the EPCIS exception.
 */
import type { Context } from 'hono';
import { CareLedgerError, type ErrorCode } from '../../errors/index.js';

export type EpcisException =
  | 'ValidationException'
  | 'QueryParameterException'
  | 'CaptureLimitExceededException'
  | 'SecurityException'
  | 'NoSuchResourceException'
  | 'ImplementationException';

const BY_CODE: Partial<Record<ErrorCode, { type: EpcisException; status: number }>> = {
  ERR_INVALID_INPUT: { type: 'ValidationException', status: 400 },
  ERR_UNPROCESSABLE: { type: 'ValidationException', status: 400 },
  ERR_PRECONDITION_FAILED: { type: 'ValidationException', status: 400 },
  ERR_NOT_FOUND: { type: 'ValidationException', status: 400 },
  // A ledger write the contract refused (an unknown pack, not its owner): the event is invalid here.
  ERR_CHAIN_REVERTED: { type: 'ValidationException', status: 400 },
  ERR_UNSUPPORTED_MEDIA_TYPE: { type: 'ValidationException', status: 415 },
  ERR_UNAUTHENTICATED: { type: 'SecurityException', status: 401 },
  ERR_FORBIDDEN: { type: 'SecurityException', status: 403 },
  ERR_NOT_MEMBER: { type: 'SecurityException', status: 403 },
};

export interface ProblemDetails {
  readonly type: `epcisException:${EpcisException}`;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  /** CareLedger's reason code and the index of the event at fault, when known. */
  readonly reason?: string;
  readonly event?: number;
  readonly captured?: number;
  /** The capture job a refused capture left (`GET /epcis/capture/{captureID}`). */
  readonly captureID?: string;
}

export function toProblem(error: unknown, instance?: string): ProblemDetails {
  if (!(error instanceof CareLedgerError)) {
    return { type: 'epcisException:ImplementationException', title: 'internal error', status: 500 };
  }
  const details = (error.details ?? {}) as Record<string, unknown>;
  let mapped = BY_CODE[error.code] ?? { type: 'ImplementationException' as const, status: 500 };
  if (details.reason === 'query-parameter') mapped = { type: 'QueryParameterException', status: 400 };
  if (details.reason === 'capture-limit') mapped = { type: 'CaptureLimitExceededException', status: 413 };
  if (details.reason === 'no-such-resource') mapped = { type: 'NoSuchResourceException', status: 404 };
  return {
    type: `epcisException:${mapped.type}`,
    title: mapped.type,
    status: mapped.status,
    detail: error.message,
    ...(instance === undefined ? {} : { instance }),
    ...(typeof details.reason === 'string' ? { reason: details.reason } : {}),
    ...(typeof details.event === 'number' ? { event: details.event } : {}),
    ...(typeof details.captured === 'number' ? { captured: details.captured } : {}),
    ...(typeof details.captureID === 'string' ? { captureID: details.captureID } : {}),
  };
}

export function problemResponse(c: Context, error: unknown): Response {
  const problem = toProblem(error, new URL(c.req.url).pathname);
  if (problem.status === 401) c.header('WWW-Authenticate', 'Bearer realm="careledger"');
  return c.body(JSON.stringify(problem), problem.status as 400, {
    'content-type': 'application/problem+json',
  });
}
