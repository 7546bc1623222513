import { type Clock, type Scheduler, systemScheduler } from './log-clock.js';
import { logError } from './log-error.js';
import type { StoredCheckpoint } from './log-storage.js';

export interface StartCheckpointingOptions {
  /** Longest time between an append and the checkpoint that covers it (default 1000 ms). */
  readonly intervalMs?: number;
  readonly clock?: Clock;
  readonly scheduler?: Scheduler;
  /** Called after each new checkpoint, e.g. to collect witness cosignatures. */
  readonly onCheckpoint?: (checkpoint: StoredCheckpoint) => Promise<void> | void;
  /** Failures of background checkpointing (the log keeps running). */
  readonly onError?: (error: unknown) => void;
}

/** The part of the log that background checkpointing reads and drives. */
export interface CheckpointedLog {
  readonly size: number;
  latestCheckpointRecord(): StoredCheckpoint | undefined;
  checkpoint(): Promise<StoredCheckpoint>;
}

interface CheckpointingState {
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly onCheckpoint: StartCheckpointingOptions['onCheckpoint'];
  readonly onError: (error: unknown) => void;
  timer: unknown;
  running: Promise<void>;
}

/**
 * Background checkpointing: a checkpoint at most `intervalMs` after any append, and none while nothing
 * changes. One timer at a time, through the injected scheduler.
 */
export class CheckpointSchedule {
  readonly #log: CheckpointedLog;
  #state: CheckpointingState | undefined;

  constructor(log: CheckpointedLog) {
    this.#log = log;
  }

  /** Starts with these settings (after `cancel`); `clock` is the log's clock, already updated. */
  start(options: StartCheckpointingOptions, clock: Clock): void {
    const intervalMs = options.intervalMs ?? 1000;
    if (!Number.isFinite(intervalMs) || intervalMs < 0)
      throw logError('ERR_INVALID_INPUT', 'interval', 'intervalMs must be a non-negative number');
    this.#state = {
      intervalMs,
      clock,
      scheduler: options.scheduler ?? systemScheduler,
      onError: options.onError ?? (() => undefined),
      onCheckpoint: options.onCheckpoint,
      timer: undefined,
      running: Promise.resolve(),
    };
    this.schedule();
  }

  /** Sets the timer for the next checkpoint if checkpointing runs, none is set, and entries wait. */
  schedule(): void {
    const c = this.#state;
    if (c === undefined || c.timer !== undefined) return;
    const last = this.#log.latestCheckpointRecord();
    if (this.#log.size === (last?.size ?? 0)) return;
    const due = (last?.time ?? Number.NEGATIVE_INFINITY) + c.intervalMs;
    const delay = Math.max(0, Math.min(c.intervalMs, due - c.clock.now()));
    c.timer = c.scheduler.setTimeout(() => {
      c.timer = undefined;
      c.running = this.#tick(c);
    }, delay);
  }

  async #tick(c: CheckpointingState): Promise<void> {
    try {
      const before = this.#log.latestCheckpointRecord();
      const record = await this.#log.checkpoint();
      if (record !== before && c.onCheckpoint !== undefined) await c.onCheckpoint(record);
    } catch (error) {
      c.onError(error);
    }
    if (this.#state === c) this.schedule();
  }

  /** Stops checkpointing; resolves once a checkpoint in progress is done. */
  cancel(): Promise<void> {
    const c = this.#state;
    if (c === undefined) return Promise.resolve();
    this.#state = undefined;
    if (c.timer !== undefined) c.scheduler.clearTimeout(c.timer);
    c.timer = undefined;
    return c.running;
  }
}
