import { CareLedgerError, isCareLedgerError } from '../../errors/index.js';
import {
  type AppendOptions,
  type AppendResult,
  type LogStorage,
  type StoredCheckpoint,
  TransparencyLog,
} from '../../log/index.js';

/** What a worker appends through (the SequencerClient). */
export interface LogAppender {
  appendAll(entries: readonly Uint8Array[], options?: AppendOptions): Promise<AppendResult[]>;
}

export interface FollowerLogOptions {
  /** The worker's own connection to the member's log tables; only read. */
  readonly storage: LogStorage;
  readonly signerKey: string;
  readonly origin: string;
  readonly appender: LogAppender;
  /**
   * How often the view also looks for a grown log or a new checkpoint on its own (default: never).
   * Every read of the log (tiles, proofs, entries, and the log routes and status, which call
   * `refresh()` first) already looks before it answers, so a timer only reopened the view, with a
   * signature check and O(log n) reads, twice a second while the log grew, for nobody (decision 0054).
   */
  readonly refreshMs?: number;
}

/**
 * A worker's view of its member's transparency log. Appends go to the one sequencer (the primary);
 * reads (tiles, proofs, checkpoints) come from the shared database through a TransparencyLog opened
 * read-only over it ('fast' verification: O(log n) reads) and reopened whenever the log grew or a
 * checkpoint was signed. It never signs: it has no checkpointing and no append path of its own.
 */
export class FollowerLog {
  readonly #options: FollowerLogOptions;
  #view: TransparencyLog;
  #seen: string;
  #refreshing: Promise<void> | undefined;
  /** The look after the one under way, shared by every caller that arrived during it. */
  #queued: Promise<void> | undefined;
  readonly #timer: ReturnType<typeof setInterval> | undefined;

  private constructor(options: FollowerLogOptions, view: TransparencyLog, seen: string) {
    this.#options = options;
    this.#view = view;
    this.#seen = seen;
    if (options.refreshMs !== undefined) {
      this.#timer = setInterval(() => void this.refresh().catch(() => undefined), options.refreshMs);
      this.#timer.unref();
    }
  }

  static async open(options: FollowerLogOptions): Promise<FollowerLog> {
    const seen = await stateKey(options.storage);
    return new FollowerLog(options, await openView(options), seen);
  }

  /**
   * Reopens the view if the stored log grew or got a checkpoint since the last look. The look this
   * answers with begins after the call: a look already under way may have read the stored state before
   * a write the caller was just acknowledged (by another process) committed, so the caller waits for
   * the next one, which every caller arriving meanwhile shares.
   */
  refresh(): Promise<void> {
    const running = this.#refreshing;
    if (running !== undefined) {
      this.#queued ??= running
        .catch(() => undefined)
        .then(() => {
          this.#queued = undefined;
          return this.refresh();
        });
      return this.#queued;
    }
    const look = (async () => {
      try {
        const seen = await stateKey(this.#options.storage);
        if (seen === this.#seen) return;
        this.#view = await openView(this.#options);
        this.#seen = seen;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    this.#refreshing = look;
    return look;
  }

  appendAll(entries: readonly Uint8Array[], options: AppendOptions = {}): Promise<AppendResult[]> {
    return this.#options.appender.appendAll(entries, options);
  }

  append(entry: Uint8Array, options: AppendOptions = {}): Promise<AppendResult> {
    return this.appendAll([entry], options).then((results) => results[0] as AppendResult);
  }

  get origin(): string {
    return this.#view.origin;
  }

  get size(): number {
    return this.#view.size;
  }

  /** A worker is never fenced itself: the sequencer refuses its appends when the log is. */
  get fence(): string | undefined {
    return undefined;
  }

  latestCheckpoint(): string | undefined {
    return this.#view.latestCheckpoint();
  }

  latestCheckpointRecord(): StoredCheckpoint | undefined {
    return this.#view.latestCheckpointRecord();
  }

  latestCosignedCheckpoint(): StoredCheckpoint | undefined {
    return this.#view.latestCosignedCheckpoint();
  }

  async readTile(level: number | 'entries', index: number, width?: number): Promise<Uint8Array | undefined> {
    await this.refresh();
    return this.#view.readTile(level, index, width);
  }

  async createTlogProof(index: number): Promise<string> {
    await this.refresh();
    return this.#view.createTlogProof(index);
  }

  async createConsistencyProof(oldSize: number, newSize?: number): Promise<Uint8Array[]> {
    await this.refresh();
    return this.#view.createConsistencyProof(oldSize, newSize);
  }

  async createInclusionProof(index: number, size?: number): Promise<Uint8Array[]> {
    await this.refresh();
    return this.#view.createInclusionProof(index, size);
  }

  async readEntry(index: number): Promise<Uint8Array> {
    await this.refresh();
    return this.#view.readEntry(index);
  }

  stop(): Promise<void> {
    clearInterval(this.#timer);
    return Promise.resolve();
  }
}

async function stateKey(storage: LogStorage): Promise<string> {
  const size = await storage.size();
  const last = await storage.latestCheckpoint();
  const cosigned = await storage.latestCosignedCheckpoint();
  return `${size}/${last?.size ?? -1}/${cosigned?.size ?? -1}`;
}

/**
 * Opens the read-only view. The sequencer commits between the view's reads (size, then checkpoints),
 * so a checkpoint may be newer than the size just read: that is retried, a real mismatch is not.
 */
async function openView(options: FollowerLogOptions): Promise<TransparencyLog> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await TransparencyLog.open({
        storage: options.storage,
        signerKey: options.signerKey,
        origin: options.origin,
        verify: 'fast',
      });
    } catch (error) {
      const reason = isCareLedgerError(error) ? (error.details as { reason?: unknown }).reason : undefined;
      if (attempt < 5 && reason === 'checkpoint-beyond-log') continue;
      if (error instanceof CareLedgerError) throw error;
      throw new CareLedgerError('ERR_LOG_UNAVAILABLE', 'cannot read the log', { cause: error });
    }
  }
}
