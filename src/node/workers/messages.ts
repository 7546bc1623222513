import { CareLedgerError, ERROR_CODES, type ErrorCode } from '../../errors/index.js';
import type { AppendResult, CommitWrite } from '../../log/index.js';
import type { NodeEvent } from './node-broadcast.js';

/**
 * The messages between a member's worker processes and its primary (the one sequencer), over the
 * node:cluster IPC channel with `serialization: 'advanced'` (structured clone: Uint8Array, bigint).
 */
export type WorkerMessage =
  | {
      readonly t: 'append';
      readonly id: number;
      readonly entries: readonly Uint8Array[];
      readonly withinCommit: readonly CommitWrite[];
    }
  | { readonly t: 'publish'; readonly event: NodeEvent }
  | { readonly t: 'ready'; readonly url: string };

export type PrimaryMessage =
  | { readonly t: 'appended'; readonly id: number; readonly results: readonly AppendResult[] }
  | { readonly t: 'append-failed'; readonly id: number; readonly error: SerializedError }
  | { readonly t: 'event'; readonly event: NodeEvent };

/** A CareLedgerError as it crosses the IPC channel (code, message and safe details only). */
export interface SerializedError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof CareLedgerError)
    return { code: error.code, message: error.message, details: { ...error.details } };
  return { code: 'ERR_INTERNAL', message: 'the sequencer failed', details: {} };
}

export function deserializeError(error: SerializedError): CareLedgerError {
  const code = (ERROR_CODES as readonly string[]).includes(error.code) ? error.code : 'ERR_INTERNAL';
  return new CareLedgerError(code, error.message, { details: { ...error.details } });
}

function hasTag(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { t?: unknown }).t === 'string';
}

/** Messages come from our own processes; the tag check keeps other IPC traffic out. */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return hasTag(value);
}

export function isPrimaryMessage(value: unknown): value is PrimaryMessage {
  return hasTag(value);
}
