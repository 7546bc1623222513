import { CareLedgerError, ERROR_CODES, type ErrorCode } from '../../errors/index.js';
import type { AppendResult, CommitWrite } from '../../log/index.js';
import type { NodeEvent } from './node-broadcast.js';

/**
 * The messages between a member's worker processes and its primary (the one sequencer), over the
 * node:cluster IPC channel with `serialization: 'advanced'` (structured clone: Uint8Array, bigint).
 * Appends travel in batches (decision 0054): a worker sends the groups its requests appended in one
 * turn of its event loop as one message, and the primary answers each worker once per settled commit,
 * instead of one message each way per request.
 */
export type WorkerMessage =
  /** The log groups a worker's requests appended in one turn of its event loop, in order. */
  | { readonly t: 'append'; readonly groups: readonly AppendRequest[] }
  | { readonly t: 'publish'; readonly event: NodeEvent }
  | { readonly t: 'ready'; readonly url: string };

export type PrimaryMessage =
  /** The outcomes of one worker's groups that one durable commit (or refusal) settled. */
  | { readonly t: 'appended'; readonly outcomes: readonly AppendOutcome[] }
  | { readonly t: 'event'; readonly event: NodeEvent };

/** One appendAll group of a worker: what commits together, under the worker's own request id. */
export interface AppendRequest {
  readonly id: number;
  readonly entries: readonly Uint8Array[];
  readonly withinCommit: readonly CommitWrite[];
}

/** How one group ended: durably appended (its entries' indices), or refused (nothing of it stored). */
export type AppendOutcome =
  | { readonly id: number; readonly results: readonly AppendResult[] }
  | { readonly id: number; readonly error: SerializedError };

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
