import type { CareLedgerError } from '../errors/index.js';
import { logError } from './log-error.js';
import type { CommitGroup, CommitWrite, LogStorage } from './log-storage.js';
import { hashLeaf } from './merkle-hash.js';
import { MAX_ENTRY_SIZE } from './tiles.js';
import { extendTreeEdge, type TreeEdge } from './tree-edge.js';

/**
 * How long a commit waits for more appends while requests are committing side by side (the last batch
 * held more than one appendAll group); 0 never waits. A lone writer never waits either way.
 */
export const DEFAULT_GROUP_WINDOW_MS = 1;

export interface AppendResult {
  readonly index: number;
  readonly leafHash: Uint8Array;
}

export interface AppendOptions {
  /**
   * Writes committed in the same storage transaction as the entries, as data (see CommitWrite); the
   * storage adapter applies them with the log index of the group's first entry, so a write can point
   * at its entries.
   */
  readonly withinCommit?: readonly CommitWrite[];
}

/** What the log tells its writer: whether it is fenced, and that a batch became durable. */
export interface GroupCommitHooks {
  /** The error to refuse a batch with while the log is fenced; undefined when it is not. */
  readonly fencedError: () => CareLedgerError | undefined;
  /** Called after each batch is durably stored and its appends resolved. */
  readonly onCommitted: () => void;
}

interface PendingAppend {
  readonly entry: Uint8Array;
  readonly leafHash: Uint8Array;
  /** False for every entry of an appendAll group but its last. */
  readonly groupEnd: boolean;
  /** Entries in this entry's appendAll group. */
  readonly groupSize: number;
  readonly withinCommit?: readonly CommitWrite[];
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The log's writer: queues appends and writes them in batches of up to `maxBatch` entries, one storage
 * transaction each (group commit), keeping the durable tree's edge. After a write whose outcome storage
 * cannot confirm it fails every later append until the log is reopened.
 */
export class GroupCommit {
  readonly #storage: LogStorage;
  readonly #maxBatch: number;
  readonly #hooks: GroupCommitHooks;
  #tree: TreeEdge;
  #queue: PendingAppend[] = [];
  #flushing: Promise<void> | undefined;
  #failed: CareLedgerError | undefined;

  readonly #windowMs: number;
  /** appendAll groups in the last batch written: more than one means requests commit side by side. */
  #lastGroups = 1;

  constructor(
    storage: LogStorage,
    maxBatch: number,
    tree: TreeEdge,
    hooks: GroupCommitHooks,
    windowMs = DEFAULT_GROUP_WINDOW_MS,
  ) {
    this.#storage = storage;
    this.#maxBatch = maxBatch;
    this.#windowMs = windowMs;
    this.#tree = tree;
    this.#hooks = hooks;
  }

  /** Number of durably stored entries. */
  get size(): number {
    return this.#tree.range.size;
  }

  /** RFC 9162 root of the durably stored entries. */
  root(): Uint8Array {
    return this.#tree.range.root();
  }

  /** Why appends are refused since a write of unknown outcome, or undefined. */
  get failed(): CareLedgerError | undefined {
    return this.#failed;
  }

  /** Checks and queues a group of entries that commit together; resolves once all are durable. */
  enqueue(entries: readonly Uint8Array[], options: AppendOptions): Promise<AppendResult[]> {
    if (entries.length === 0) return Promise.reject(logError('ERR_INVALID_INPUT', 'entry', 'no entries'));
    for (const entry of entries) {
      if (!(entry instanceof Uint8Array))
        return Promise.reject(logError('ERR_INVALID_INPUT', 'entry', 'entry must be bytes'));
      // c2sp.org/tlog-tiles entry bundles prefix each entry with a uint16 length.
      if (entry.length > MAX_ENTRY_SIZE)
        return Promise.reject(
          logError('ERR_INVALID_INPUT', 'entry-too-large', 'entry is larger than 65535 bytes'),
        );
    }
    const promises = entries.map((entry, i) => {
      const copy = entry.slice();
      const leafHash = hashLeaf(copy);
      const last = i === entries.length - 1;
      return new Promise<AppendResult>((resolve, reject) => {
        this.#queue.push({
          entry: copy,
          leafHash,
          resolve,
          reject,
          groupEnd: last,
          groupSize: entries.length,
          ...(last && options.withinCommit !== undefined ? { withinCommit: options.withinCommit } : {}),
        });
      });
    });
    if (this.#flushing === undefined) {
      // Start after the event loop's current I/O phase (setImmediate), not on a microtask: requests that
      // arrived together each reach their append first, and share one durable commit (group commit).
      // The commit itself is synchronous, so without this every request paid a commit of its own.
      // While requests commit side by side (the last batch held several groups), wait up to the group
      // window for more of them to share this commit and its fsync (PostgreSQL's commit_delay with
      // commit_siblings); a lone writer (the last batch held one group) never waits.
      const wait = this.#lastGroups > 1 && this.#windowMs > 0;
      this.#flushing = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => (wait ? new Promise<void>((resolve) => setTimeout(resolve, this.#windowMs)) : undefined))
        .then(() => this.#flushLoop());
    }
    return Promise.all(promises);
  }

  /** Resolves once every append queued so far has been written or has failed. */
  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        // A group (appendAll) is never split across transactions.
        while (batch.length > 0 && batch[batch.length - 1]?.groupEnd === false && this.#queue.length > 0) {
          batch.push(this.#queue.shift() as PendingAppend);
        }
        await this.#writeBatch(batch);
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  async #writeBatch(batch: PendingAppend[]): Promise<void> {
    const refused = this.#failed ?? this.#hooks.fencedError();
    if (refused !== undefined) {
      for (const p of batch) p.reject(refused);
      return;
    }
    const startIndex = this.#tree.range.size;
    const { edge, nodeHashes } = extendTreeEdge(
      this.#tree,
      batch.map((p) => p.leafHash),
    );
    try {
      await this.#storage.appendBatch({
        startIndex,
        entries: batch.map((p) => p.entry),
        leafHashes: batch.map((p) => p.leafHash),
        nodeHashes,
        withinCommit: batch.flatMap((p, i): CommitGroup[] => {
          if (p.withinCommit === undefined || p.withinCommit.length === 0) return [];
          return [{ firstIndex: startIndex + i - (p.groupSize - 1), writes: p.withinCommit }];
        }),
      });
    } catch (cause) {
      const error = logError(
        'ERR_LOG_UNAVAILABLE',
        'storage-write',
        'log storage failed; entries were not appended',
        { batchSize: batch.length },
        cause,
      );
      for (const p of batch) p.reject(error);
      // Storage promised all-or-nothing; if it cannot confirm nothing was written, stop appending until
      // the log is reopened (and audited) rather than risk indices that disagree with storage.
      try {
        if ((await this.#storage.size()) !== startIndex) throw new Error('size changed');
      } catch (sizeError) {
        this.#failed = logError(
          'ERR_LOG_UNAVAILABLE',
          'storage-state-unknown',
          'log storage state is unknown; reopen the log',
          {},
          sizeError,
        );
      }
      return;
    }
    this.#tree = edge;
    let groups = 0;
    for (const p of batch) if (p.groupEnd) groups += 1;
    this.#lastGroups = groups;
    batch.forEach((p, i) => {
      p.resolve({ index: startIndex + i, leafHash: p.leafHash });
    });
    this.#hooks.onCommitted();
  }
}
