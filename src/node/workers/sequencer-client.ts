import { CareLedgerError } from '../../errors/index.js';
import type { AppendOptions, AppendResult } from '../../log/index.js';
import {
  type AppendRequest,
  deserializeError,
  isPrimaryMessage,
  type PrimaryMessage,
  type WorkerMessage,
} from './messages.js';
import { type NodeBroadcast, type NodeEvent, NodeEventListeners } from './node-broadcast.js';

/** The IPC channel of a worker process to its primary (`process` in a cluster worker). */
export interface PrimaryChannel {
  /** With a callback, a closed channel reports there instead of as an 'error' event. */
  send(message: WorkerMessage, callback: (error: Error | null) => void): void;
  on(event: 'message', listener: (message: unknown) => void): void;
  on(event: 'disconnect', listener: () => void): void;
}

/**
 * A worker's way to the member's one sequencer: log groups are sent to the primary, which appends
 * them with everyone else's and answers once they are durable. If the primary goes away, every
 * pending append is refused (ERR_LOG_UNAVAILABLE, answered 503), never acknowledged.
 */
export class SequencerClient {
  readonly #channel: PrimaryChannel;
  readonly #pending = new Map<
    number,
    { resolve: (r: AppendResult[]) => void; reject: (e: unknown) => void }
  >();
  readonly #listeners = new NodeEventListeners();
  #nextId = 1;
  #gone = false;
  /** Groups appended in this turn of the event loop, sent together by #sendOutbox. */
  #outbox: AppendRequest[] = [];

  constructor(channel: PrimaryChannel) {
    this.#channel = channel;
    channel.on('message', (message) => {
      if (isPrimaryMessage(message)) this.#receive(message);
    });
    channel.on('disconnect', () => this.#primaryGone());
  }

  appendAll(entries: readonly Uint8Array[], options: AppendOptions = {}): Promise<AppendResult[]> {
    if (this.#gone) return Promise.reject(unavailable());
    const id = this.#nextId++;
    return new Promise<AppendResult[]>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Copies: the message is cloned when the batch is sent, after the caller got its promise back.
      this.#outbox.push({
        id,
        entries: entries.map((entry) => entry.slice()),
        withinCommit: options.withinCommit ?? [],
      });
      if (this.#outbox.length === 1) setImmediate(() => this.#sendOutbox());
    });
  }

  /**
   * Sends the groups appended since the last send as one message: requests that reached their append
   * in the same turn of the event loop (they would share the primary's commit anyway) cost one IPC
   * message and one clone instead of one each. setImmediate, not a microtask: each request's callback
   * drains its microtasks before the next one runs, so only a later phase sees them all.
   */
  #sendOutbox(): void {
    const groups = this.#outbox;
    this.#outbox = [];
    if (groups.length === 0) return;
    const failed = () => {
      for (const group of groups) {
        const pending = this.#pending.get(group.id);
        if (pending === undefined) continue;
        this.#pending.delete(group.id);
        pending.reject(unavailable());
      }
    };
    if (this.#gone) {
      failed();
      return;
    }
    try {
      this.#channel.send({ t: 'append', groups }, (error) => {
        if (error !== null) failed();
      });
    } catch {
      failed();
    }
  }

  append(entry: Uint8Array, options: AppendOptions = {}): Promise<AppendResult> {
    return this.appendAll([entry], options).then((results) => results[0] as AppendResult);
  }

  /** The member-wide broadcast, through the primary. */
  readonly broadcast: NodeBroadcast = {
    publish: (event: NodeEvent) => {
      if (this.#gone) return;
      try {
        this.#channel.send({ t: 'publish', event }, () => undefined);
      } catch {
        // The primary is gone; the worker is about to stop.
      }
    },
    subscribe: (listener) => this.#listeners.subscribe(listener),
  };

  #receive(message: PrimaryMessage): void {
    if (message.t === 'event') {
      this.#listeners.deliver(message.event);
      return;
    }
    for (const outcome of message.outcomes) {
      const pending = this.#pending.get(outcome.id);
      if (pending === undefined) continue;
      this.#pending.delete(outcome.id);
      if ('results' in outcome) pending.resolve([...outcome.results]);
      else pending.reject(deserializeError(outcome.error));
    }
  }

  #primaryGone(): void {
    this.#gone = true;
    for (const pending of this.#pending.values()) pending.reject(unavailable());
    this.#pending.clear();
  }
}

function unavailable(): CareLedgerError {
  return new CareLedgerError('ERR_LOG_UNAVAILABLE', 'the log sequencer is unavailable', {
    details: { reason: 'sequencer-gone' },
  });
}
