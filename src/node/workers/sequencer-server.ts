import { CareLedgerError } from '../../errors/index.js';
import type { AppendOptions, AppendResult, CommitWrite } from '../../log/index.js';
import type { VaultCommitWrite } from '../../vault/commit-writes.js';
import { type AppendOutcome, type PrimaryMessage, serializeError, type WorkerMessage } from './messages.js';
import type { NodeEvent } from './node-broadcast.js';

/** The one process of a member that appends to its transparency log. */
export interface SequencerLog {
  appendAll(entries: readonly Uint8Array[], options?: AppendOptions): Promise<AppendResult[]>;
}

/**
 * A worker as the primary sees it: a channel that may close at any time. The same object for the same
 * worker every time (answers are gathered per channel).
 */
export interface WorkerChannel {
  /** With a callback, a channel that closed reports there instead of as an 'error' event. */
  send(message: PrimaryMessage, callback: (error: Error | null) => void): void;
  readonly connected: boolean;
}

export interface SequencerServerOptions {
  readonly log: SequencerLog;
  /** The stored current version number of a resource (0 when none), read from the primary's database. */
  readonly currentVersion: (resourceType: string, id: string) => Promise<number>;
  /** Every worker, for relaying broadcast events (read at each event: workers come and go). */
  readonly workers: () => Iterable<WorkerChannel>;
  /** Events for the primary's own listeners (its chain indexer's consent cache, ...). */
  readonly deliverLocally?: (event: NodeEvent) => void;
}

/**
 * The primary's side of the workers' channel: it sequences every worker's log group through the one
 * TransparencyLog (group commit across all workers) and answers only once the group is durable, so a
 * worker acknowledges a write only after its commit. It also relays broadcast events to every worker.
 *
 * Workers lock a resource only within their own process, so two of them may try to write the same
 * next version of one resource. The sequencer is the one place that sees both: a version write must
 * follow the stored or the pending version of its resource, or its group is refused
 * (ERR_PRECONDITION_FAILED, `version-conflict`) before it reaches the batch, which it would otherwise
 * roll back for every other writer sharing that commit.
 */
export class SequencerServer {
  readonly #options: SequencerServerOptions;
  /** Per `type/id`, the highest version queued and not yet settled, and how many groups hold it. */
  readonly #pending = new Map<string, { version: number; groups: number }>();
  /** Outcomes settled in this turn of the event loop, per worker, not yet sent. */
  readonly #answers = new Map<WorkerChannel, AppendOutcome[]>();

  constructor(options: SequencerServerOptions) {
    this.#options = options;
  }

  /** Handles one message from a worker; replies on its channel. */
  handle(worker: WorkerChannel, message: WorkerMessage): void {
    if (message.t === 'publish') {
      this.publish(message.event);
      return;
    }
    if (message.t !== 'append') return;
    for (const group of message.groups) {
      void this.sequence(group.entries, group.withinCommit).then(
        (results) => this.#settle(worker, { id: group.id, results }),
        (error: unknown) => this.#settle(worker, { id: group.id, error: serializeError(error) }),
      );
    }
  }

  /**
   * Gathers a worker's outcomes and answers them in one message. Every group of one commit settles in
   * the same drain of microtasks after it is durable, so the answer sent at setImmediate holds them all,
   * and none of them is answered before its commit.
   */
  #settle(worker: WorkerChannel, outcome: AppendOutcome): void {
    const waiting = this.#answers.get(worker);
    if (waiting !== undefined) {
      waiting.push(outcome);
      return;
    }
    this.#answers.set(worker, [outcome]);
    if (this.#answers.size === 1) setImmediate(() => this.#answer());
  }

  #answer(): void {
    const answers = [...this.#answers];
    this.#answers.clear();
    for (const [worker, outcomes] of answers) this.#reply(worker, { t: 'appended', outcomes });
  }

  /** Sends an event to every worker and to the primary's own listeners. */
  publish(event: NodeEvent): void {
    this.#options.deliverLocally?.(event);
    for (const worker of this.#options.workers()) this.#reply(worker, { t: 'event', event });
  }

  #reply(worker: WorkerChannel, message: PrimaryMessage): void {
    // A worker that died after asking gets no answer; its client saw the connection drop.
    if (!worker.connected) return;
    try {
      worker.send(message, () => undefined);
    } catch {
      // The channel closed between the check and the send: same as above.
    }
  }

  /**
   * Appends one group through the log after the version fence; resolves once it is durable. Also the
   * elected sequencer's way in when the groups come from the database (decision 0022).
   */
  async sequence(
    entries: readonly Uint8Array[],
    withinCommit: readonly CommitWrite[],
  ): Promise<AppendResult[]> {
    const versions = (withinCommit as readonly VaultCommitWrite[]).filter((w) => w.kind === 'version');
    const keys: string[] = [];
    try {
      for (const w of versions) {
        const { resourceType, id, versionId } = w.version;
        const key = `${resourceType}/${id}`;
        const pending = this.#pending.get(key);
        const expected = pending?.version ?? (await this.#options.currentVersion(resourceType, id));
        // Re-read after the await: another group may have queued this resource meanwhile.
        const now = this.#pending.get(key)?.version ?? expected;
        if (versionId !== now + 1) {
          throw new CareLedgerError(
            'ERR_PRECONDITION_FAILED',
            'the resource changed meanwhile; read it again',
            {
              details: { reason: 'version-conflict' },
            },
          );
        }
        const held = this.#pending.get(key);
        this.#pending.set(key, { version: versionId, groups: (held?.groups ?? 0) + 1 });
        keys.push(key);
      }
      return await this.#options.log.appendAll(entries, { withinCommit });
    } finally {
      for (const key of keys) {
        const held = this.#pending.get(key);
        if (held === undefined) continue;
        if (held.groups <= 1) this.#pending.delete(key);
        else this.#pending.set(key, { version: held.version, groups: held.groups - 1 });
      }
    }
  }
}
