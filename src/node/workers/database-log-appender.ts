import { CareLedgerError } from '../../errors/index.js';
import { type AppendOptions, type AppendResult, hashLeaf } from '../../log/index.js';
import type { PostgresDatabase } from '../../storage/postgres/postgres-database.js';
import {
  enqueuePendingGroups,
  forgetPendingGroups,
  type PendingGroupInput,
  readPendingOutcomes,
  withdrawPendingGroup,
} from '../../storage/postgres/postgres-pending-entries.js';
import type { LogAppender } from './follower-log.js';
import { deserializeError, type SerializedError } from './messages.js';

export interface DatabaseLogAppenderOptions {
  /** The member's shared database (this process's pool). */
  readonly db: PostgresDatabase;
  /** How often open groups are looked at when no notification came (default 250 ms). */
  readonly pollMs?: number;
  /** How long a writer waits for the sequencer before withdrawing its group (default 30 s). */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

interface Queued {
  readonly input: PendingGroupInput;
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
}

interface Waiting extends Queued {
  readonly deadline: number;
}

function unavailable(reason: string, message: string): CareLedgerError {
  return new CareLedgerError('ERR_LOG_UNAVAILABLE', message, { details: { reason } });
}

/**
 * A process's way to its member's log when the sequencer is elected through the database (decision
 * 0022): each appendAll group is enqueued durably in `log_pending` (groups arriving together share one
 * commit), and the promise resolves with the group's indices only once the leader has committed the
 * entries with their commit writes. Settlement is learnt by LISTEN (`notifySettled`) and by polling.
 *
 * A writer that waits longer than `timeoutMs` withdraws its group: if the withdrawal wins, the group
 * will never be logged and the caller gets 503 (`sequencer-timeout`); if the leader won, the outcome
 * is read as usual. So an answer is never a lie either way.
 */
export class DatabaseLogAppender implements LogAppender {
  readonly #options: DatabaseLogAppenderOptions;
  readonly #now: () => number;
  #queue: Queued[] = [];
  #flushing = false;
  readonly #waiting = new Map<number, Waiting>();
  #checking: Promise<void> | undefined;
  #checkAgain = false;
  #stopped = false;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(options: DatabaseLogAppenderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => {
      if (this.#waiting.size > 0) this.notifySettled();
    }, options.pollMs ?? 250);
    this.#timer.unref();
  }

  appendAll(entries: readonly Uint8Array[], options: AppendOptions = {}): Promise<AppendResult[]> {
    if (this.#stopped) return Promise.reject(unavailable('closed', 'the log is closed'));
    if (entries.length === 0)
      return Promise.reject(
        new CareLedgerError('ERR_INVALID_INPUT', 'no entries', { details: { reason: 'entry' } }),
      );
    return new Promise<AppendResult[]>((resolve, reject) => {
      this.#queue.push({ input: { entries, withinCommit: options.withinCommit ?? [] }, resolve, reject });
      if (!this.#flushing) {
        this.#flushing = true;
        // After the current I/O phase, so requests that arrived together share one enqueue commit.
        setImmediate(() => void this.#flush());
      }
    });
  }

  append(entry: Uint8Array, options: AppendOptions = {}): Promise<AppendResult> {
    return this.appendAll([entry], options).then((results) => results[0] as AppendResult);
  }

  async #flush(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, 256);
        try {
          const ids = await enqueuePendingGroups(
            this.#options.db,
            batch.map((q) => q.input),
            this.#now(),
          );
          const deadline = this.#now() + (this.#options.timeoutMs ?? 30_000);
          for (const [i, q] of batch.entries()) this.#waiting.set(ids[i] as number, { ...q, deadline });
        } catch (error) {
          // Not enqueued (the database is unavailable, ...): nothing was promised.
          for (const q of batch) q.reject(error);
        }
      }
    } finally {
      this.#flushing = false;
    }
    this.notifySettled();
  }

  /** Looks up the outcome of every waiting group (the leader notified, or the poll timer fired). */
  notifySettled(): void {
    if (this.#checking !== undefined) {
      this.#checkAgain = true;
      return;
    }
    this.#checking = (async () => {
      try {
        do {
          this.#checkAgain = false;
          await this.#check();
        } while (this.#checkAgain && this.#waiting.size > 0);
      } catch {
        // The database is unreachable now; the poll timer asks again.
      } finally {
        this.#checking = undefined;
      }
    })();
  }

  async #check(): Promise<void> {
    if (this.#waiting.size === 0) return;
    const outcomes = await readPendingOutcomes(this.#options.db, [...this.#waiting.keys()]);
    for (const outcome of outcomes) {
      const waiting = this.#waiting.get(outcome.id);
      if (waiting === undefined) continue;
      this.#waiting.delete(outcome.id);
      if ('firstIndex' in outcome) {
        waiting.resolve(
          waiting.input.entries.map((entry, i) => ({
            index: outcome.firstIndex + i,
            leafHash: hashLeaf(entry),
          })),
        );
      } else {
        waiting.reject(deserializeError(outcome.error as unknown as SerializedError));
      }
    }
    await forgetPendingGroups(
      this.#options.db,
      outcomes.map((o) => o.id),
    );
    const now = this.#now();
    for (const [id, waiting] of this.#waiting) {
      if (now < waiting.deadline) continue;
      if (await withdrawPendingGroup(this.#options.db, id)) {
        this.#waiting.delete(id);
        waiting.reject(unavailable('sequencer-timeout', 'the log sequencer did not answer in time'));
      }
    }
  }

  /** Refuses new appends; groups still waiting are answered 503 (they may still be logged later). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#checking;
    for (const waiting of this.#waiting.values())
      waiting.reject(unavailable('sequencer-gone', 'the log sequencer is unavailable'));
    this.#waiting.clear();
  }
}
