import { CareLedgerError } from '../errors/index.js';

/** The codes the transparency log throws; `reason` (in details) says which check failed. */
export type LogErrorCode =
  | 'ERR_LOG_EQUIVOCATION'
  | 'ERR_STORAGE'
  | 'ERR_LOG_UNAVAILABLE'
  | 'ERR_INVALID_INPUT'
  | 'ERR_NOT_FOUND';

export function logError(
  code: LogErrorCode,
  reason: string,
  message: string,
  extra: Record<string, unknown> = {},
  cause?: unknown,
): CareLedgerError {
  return new CareLedgerError(code, message, { cause, details: { reason, ...extra } });
}
