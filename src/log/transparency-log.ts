import { CareLedgerError, isCareLedgerError } from '../errors/index.js';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.js';
import { CompactRange } from './compact-range.js';
import {
  createConsistencyProof,
  createInclusionProof,
  type HashReader,
  nodeHash,
  rootAt,
} from './create-proof.js';
import type {
  CommitGroup,
  CommitWrite,
  LogStorage,
  StoredCheckpoint,
  StoredNodeHash,
} from './log-storage.js';
import { bytesEqual, HASH_SIZE, hashLeaf } from './merkle-hash.js';
import {
  type NoteSigner,
  type NoteVerifier,
  parseSignerKey,
  signNote,
  verifierOf,
  verifyNote,
} from './signed-note.js';
import { encodeEntryBundle, encodeTile, MAX_ENTRY_SIZE, TILE_HEIGHT, TILE_WIDTH } from './tiles.js';
import { formatTlogProof } from './tlog-proof.js';
import { verifyConsistencyProof } from './verify-proof.js';

/** Milliseconds since the Unix epoch; injected so tests control time. */
export interface Clock {
  now(): number;
}

/** Timer functions, injected so tests can fire checkpoints deterministically. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = { now: () => Date.now() };
export const systemScheduler: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface OpenTransparencyLogOptions {
  readonly storage: LogStorage;
  /** The node's C2SP signed-note Ed25519 key: `PRIVATE+KEY+<name>+...` or a parsed signer. */
  readonly signerKey: string | NoteSigner;
  /** Checkpoint origin; defaults to the key name, as c2sp.org/tlog-checkpoint recommends. */
  readonly origin?: string;
  readonly clock?: Clock;
  /** Most entries written in one storage transaction (default 4096). */
  readonly maxBatchSize?: number;
  /**
   * Start-up check. 'full' (default) re-hashes every stored entry and every stored node hash and
   * recomputes the root at the last signed checkpoint: O(n), catches any changed row. 'fast' only
   * recomputes that root from the stored subtree hashes: O(log n) reads.
   */
  readonly verify?: 'full' | 'fast';
}

/**
 * A state of this log that others hold and that the log must never fall behind: its latest anchor on
 * the ledger, or the size a witness last cosigned. A node restored from an older copy of its database
 * has a shorter log; appending there would re-use indices (a fork), so the log fences itself instead.
 */
export interface LogFloor {
  /** Who holds it, as the fence reason names it: `anchor`, `witness <name>`. */
  readonly source: string;
  readonly size: number;
  /** The root at `size`, when the holder tells it (an anchor does; a witness's 409 gives the size only). */
  readonly rootHash?: Uint8Array;
}

export interface AppendResult {
  readonly index: number;
  readonly leafHash: Uint8Array;
}

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

export interface AppendOptions {
  /**
   * Writes committed in the same storage transaction as the entries, as data (see CommitWrite); the
   * storage adapter applies them with the log index of the group's first entry, so a write can point
   * at its entries.
   */
  readonly withinCommit?: readonly CommitWrite[];
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

interface CheckpointingState {
  readonly intervalMs: number;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly onCheckpoint: StartCheckpointingOptions['onCheckpoint'];
  readonly onError: (error: unknown) => void;
  timer: unknown;
  running: Promise<void>;
}

const DEFAULT_MAX_BATCH = 4096;
const AUDIT_CHUNK = 16 * TILE_WIDTH;

function logError(
  code:
    | 'ERR_LOG_EQUIVOCATION'
    | 'ERR_STORAGE'
    | 'ERR_LOG_UNAVAILABLE'
    | 'ERR_INVALID_INPUT'
    | 'ERR_NOT_FOUND',
  reason: string,
  message: string,
  extra: Record<string, unknown> = {},
  cause?: unknown,
): CareLedgerError {
  return new CareLedgerError(code, message, { cause, details: { reason, ...extra } });
}

/** Nodes at levels that are multiples of the tile height are stored; the others are recomputed. */
function baseLevel(level: number): number {
  return level - (level % TILE_HEIGHT);
}

/**
 * Runs a pure proof computation over storage. HashReader is synchronous and storage is not, so `fn`
 * runs twice: first over placeholder hashes to record which stored hashes it reads (which depends only
 * on the tree shape, never on hash values), then, once those are fetched in one range read per run of
 * adjacent indices, over the real ones. A node at level L costs at most 2^(L mod 8) hashes of one stored
 * level, so a proof reads O(log n) ranges.
 */
async function withStoredHashes<T>(
  storage: LogStorage,
  size: number,
  fn: (reader: HashReader) => T,
): Promise<T> {
  const wanted = new Map<number, Set<number>>();
  const want = (level: number, start: number, count: number): void => {
    let set = wanted.get(level);
    if (set === undefined) {
      set = new Set();
      wanted.set(level, set);
    }
    for (let i = start; i < start + count; i++) set.add(i);
  };
  const placeholder = new Uint8Array(HASH_SIZE);
  fn({
    size,
    getLeafHash: (index) => {
      want(0, index, 1);
      return placeholder;
    },
    getNodeHash: (level, index) => {
      const base = baseLevel(level);
      const span = 2 ** (level - base);
      want(base, index * span, span);
      return placeholder;
    },
  });
  const fetched = new Map<number, Map<number, Uint8Array>>();
  for (const [level, set] of wanted) {
    const indices = [...set].sort((a, b) => a - b);
    const hashes = new Map<number, Uint8Array>();
    fetched.set(level, hashes);
    for (let i = 0; i < indices.length; ) {
      const start = indices[i] as number;
      let end = start + 1;
      while (indices[i + end - start] === end) end++;
      const read =
        level === 0
          ? await storage.readLeafHashes(start, end)
          : await storage.readNodeHashes(level, start, end);
      for (const [j, h] of read.entries()) hashes.set(start + j, h);
      i += end - start;
    }
  }
  const stored = (level: number, index: number): Uint8Array => {
    const h = fetched.get(level)?.get(index);
    if (h === undefined) throw logError('ERR_STORAGE', 'missing', 'a stored hash was not fetched');
    return h;
  };
  return fn({
    size,
    getLeafHash: (index) => stored(0, index),
    // Returning undefined makes nodeHash recurse to the children, down to the stored level.
    getNodeHash: (level, index) => (level % TILE_HEIGHT === 0 ? stored(level, index) : undefined),
  });
}

/**
 * Per tile level k, the hashes at tree level 8k of the incomplete group of 256 at the right edge: the
 * contents of the partial tile. A full group's root is a new stored node one tile level up.
 */
type TileEdge = Uint8Array[][];

// Completed nodes get their index from the caller's running per-level counts (nodes complete in order).
function pushHash(edge: TileEdge, level: number, hash: Uint8Array, completed: StoredNodeHash[]): void {
  let row = edge[level];
  if (row === undefined) {
    row = [];
    edge[level] = row;
  }
  row.push(hash);
  if (row.length < TILE_WIDTH) return;
  const range = CompactRange.empty();
  for (const h of row) range.append(h);
  edge[level] = [];
  const root = range.root();
  completed.push({ level: (level + 1) * TILE_HEIGHT, index: -1, hash: root });
  pushHash(edge, level + 1, root, completed);
}

/**
 * A node's RFC 9162 transparency log (c2sp.org/tlog-tiles layout) with group commit, signed
 * checkpoints that it refuses to contradict, and C2SP tlog proofs.
 */
export class TransparencyLog {
  readonly #storage: LogStorage;
  readonly #signer: NoteSigner;
  readonly #verifier: NoteVerifier;
  readonly #origin: string;
  readonly #maxBatch: number;
  #clock: Clock;

  #range: CompactRange;
  #edge: TileEdge;
  /** Stored node count per tile level k ≥ 1 (index = k). */
  #nodeCounts: number[];
  #lastCheckpoint: StoredCheckpoint | undefined;
  #latestCosigned: StoredCheckpoint | undefined;

  #queue: PendingAppend[] = [];
  #flushing: Promise<void> | undefined;
  #failed: CareLedgerError | undefined;
  #closed = false;
  #checkpointChain: Promise<unknown> = Promise.resolve();
  #checkpointing: CheckpointingState | undefined;
  /** Per source, the highest floor seen, and whether its root was found in this tree. */
  readonly #floors = new Map<string, { floor: LogFloor; rootChecked: boolean }>();
  #fence: string | undefined;

  private constructor(
    options: OpenTransparencyLogOptions,
    signer: NoteSigner,
    state: {
      range: CompactRange;
      edge: TileEdge;
      nodeCounts: number[];
      last?: StoredCheckpoint;
      cosigned?: StoredCheckpoint;
    },
  ) {
    this.#storage = options.storage;
    this.#signer = signer;
    this.#verifier = verifierOf(signer);
    this.#origin = options.origin ?? signer.name;
    this.#clock = options.clock ?? systemClock;
    this.#maxBatch = options.maxBatchSize ?? DEFAULT_MAX_BATCH;
    this.#range = state.range;
    this.#edge = state.edge;
    this.#nodeCounts = state.nodeCounts;
    this.#lastCheckpoint = state.last;
    this.#latestCosigned = state.cosigned;
  }

  /**
   * Opens the log over its storage: rebuilds the in-memory tree edge, audits storage (see `verify`),
   * and refuses to start if the stored tree does not match the last checkpoint it signed.
   */
  static async open(options: OpenTransparencyLogOptions): Promise<TransparencyLog> {
    const signer =
      typeof options.signerKey === 'string' ? parseSignerKey(options.signerKey) : options.signerKey;
    if (signer.type !== 'ed25519')
      throw logError('ERR_INVALID_INPUT', 'key-type', 'a log signs checkpoints with an ed25519 key');
    const maxBatch = options.maxBatchSize ?? DEFAULT_MAX_BATCH;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1)
      throw logError('ERR_INVALID_INPUT', 'batch-size', 'maxBatchSize must be a positive integer');
    const { storage } = options;
    const size = await storage.size();
    const last = await storage.latestCheckpoint();
    const cosigned = await storage.latestCosignedCheckpoint();

    // Rebuild the right edge of every tile level (the contents of the partial tiles).
    const edge: TileEdge = [];
    const nodeCounts: number[] = [0];
    for (let k = 0; Math.floor(size / TILE_WIDTH ** k) > 0; k++) {
      const count = Math.floor(size / TILE_WIDTH ** k);
      if (k > 0) nodeCounts[k] = count;
      const start = count - (count % TILE_WIDTH);
      edge[k] =
        k === 0
          ? await storage.readLeafHashes(start, count)
          : await storage.readNodeHashes(k * TILE_HEIGHT, start, count);
    }

    // The perfect subtrees of the tree, one per set bit of the size, from the stored hashes.
    const peaks = await withStoredHashes(storage, size, (reader) => {
      const hashes: Uint8Array[] = [];
      let start = 0;
      for (let level = Math.floor(Math.log2(Math.max(size, 1))); level >= 0; level--) {
        const span = 2 ** level;
        if (start + span <= size) {
          hashes.push(nodeHash(reader, level, start / span));
          start += span;
        }
      }
      return hashes;
    });
    const range = CompactRange.from(size, peaks);

    if ((options.verify ?? 'full') === 'full') await auditStorage(storage, size, last);

    if (last !== undefined) {
      const verifier = verifierOf(signer);
      let checkpoint: ReturnType<typeof parseCheckpoint>;
      try {
        const note = verifyNote(last.note, [verifier]);
        checkpoint = parseCheckpoint(note.text);
      } catch (cause) {
        throw logError(
          'ERR_STORAGE',
          'checkpoint-signature',
          'stored checkpoint is not signed by this log key',
          {},
          cause,
        );
      }
      if (
        checkpoint.size !== last.size ||
        !bytesEqual(checkpoint.rootHash, last.rootHash) ||
        checkpoint.origin !== (options.origin ?? signer.name)
      ) {
        throw logError('ERR_STORAGE', 'checkpoint-record', 'stored checkpoint row does not match its note');
      }
      if (last.size > size) {
        throw logError(
          'ERR_STORAGE',
          'checkpoint-beyond-log',
          'log storage lost entries it had checkpointed',
          {
            size,
            checkpointSize: last.size,
          },
        );
      }
      const root = await withStoredHashes(storage, size, (reader) => rootAt(reader, last.size));
      if (!bytesEqual(root, last.rootHash)) {
        throw logError(
          'ERR_LOG_EQUIVOCATION',
          'checkpoint-root-mismatch',
          'stored tree does not match the last signed checkpoint',
          { checkpointSize: last.size },
        );
      }
    }
    const state = { range, edge, nodeCounts };
    return new TransparencyLog(options, signer, {
      ...state,
      ...(last === undefined ? {} : { last }),
      ...(cosigned === undefined ? {} : { cosigned }),
    });
  }

  get origin(): string {
    return this.#origin;
  }

  /** The log's public key (verifier), for witnesses and proof verifiers. */
  get verifier(): NoteVerifier {
    return this.#verifier;
  }

  /** Number of durably stored entries. */
  get size(): number {
    return this.#range.size;
  }

  /** RFC 9162 root of the durably stored entries. */
  root(): Uint8Array {
    return this.#range.root();
  }

  /**
   * Appends an entry; resolves with its index once it is durably stored. Appends made while a write is
   * in flight are group-committed: one storage transaction for up to `maxBatchSize` of them.
   */
  append(entry: Uint8Array, options: AppendOptions = {}): Promise<AppendResult> {
    return this.appendAll([entry], options).then((results) => results[0] as AppendResult);
  }

  /**
   * Appends several entries that commit together, in one storage transaction, with the caller's
   * `withinCommit` write (e.g. a record version and the AuditEvent describing it): all of them are
   * durable when this resolves, or none is.
   */
  appendAll(entries: readonly Uint8Array[], options: AppendOptions = {}): Promise<AppendResult[]> {
    if (this.#closed) return Promise.reject(logError('ERR_LOG_UNAVAILABLE', 'closed', 'log is closed'));
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    if (this.#fence !== undefined) return Promise.reject(this.#fencedError());
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
      this.#flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#flushLoop());
    }
    return Promise.all(promises);
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
    if (this.#failed !== undefined || this.#fence !== undefined) {
      const error = this.#failed ?? this.#fencedError();
      for (const p of batch) p.reject(error);
      return;
    }
    const startIndex = this.#range.size;
    const range = CompactRange.from(startIndex, this.#range.hashes());
    const edge: TileEdge = this.#edge.map((row) => row.slice());
    const completed: StoredNodeHash[] = [];
    for (const p of batch) {
      range.append(p.leafHash);
      pushHash(edge, 0, p.leafHash, completed);
    }
    const nodeCounts = this.#nodeCounts.slice();
    const nodeHashes = completed.map((n) => {
      const k = n.level / TILE_HEIGHT;
      const index = nodeCounts[k] ?? 0;
      nodeCounts[k] = index + 1;
      return { level: n.level, index, hash: n.hash };
    });
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
    this.#range = range;
    this.#edge = edge;
    this.#nodeCounts = nodeCounts;
    batch.forEach((p, i) => {
      p.resolve({ index: startIndex + i, leafHash: p.leafHash });
    });
    this.#scheduleCheckpoint();
  }

  /** Resolves once every append queued so far has been written or has failed. */
  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  /** RFC 9162 §2.1.3.1 inclusion proof of `index` in the tree of `size` leaves (default: current). */
  createInclusionProof(index: number, size: number = this.size): Promise<Uint8Array[]> {
    return withStoredHashes(this.#storage, this.size, (reader) => createInclusionProof(reader, index, size));
  }

  /** RFC 9162 §2.1.4.1 consistency proof from `oldSize` to `newSize` (default: current). */
  createConsistencyProof(oldSize: number, newSize: number = this.size): Promise<Uint8Array[]> {
    return withStoredHashes(this.#storage, this.size, (reader) =>
      createConsistencyProof(reader, oldSize, newSize),
    );
  }

  /** Root of the tree of the first `size` entries, from storage. */
  rootAt(size: number): Promise<Uint8Array> {
    return withStoredHashes(this.#storage, this.size, (reader) => rootAt(reader, size));
  }

  async readEntry(index: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size)
      throw logError('ERR_NOT_FOUND', 'index-out-of-range', 'no entry at this index');
    const [entry] = await this.#storage.readEntries(index, index + 1);
    return entry as Uint8Array;
  }

  /**
   * Tile data (c2sp.org/tlog-tiles) of the current tree, or undefined if the tile lies beyond it. Any
   * width up to the hashes available is served, so clients may fetch older partial tiles.
   */
  async readTile(
    level: number | 'entries',
    index: number,
    width: number = TILE_WIDTH,
  ): Promise<Uint8Array | undefined> {
    const tileLevel = level === 'entries' ? 0 : level;
    const available = Math.floor(this.size / TILE_WIDTH ** tileLevel);
    const start = index * TILE_WIDTH;
    if (start + width > available) return undefined;
    if (level === 'entries') return encodeEntryBundle(await this.#storage.readEntries(start, start + width));
    const hashes =
      level === 0
        ? await this.#storage.readLeafHashes(start, start + width)
        : await this.#storage.readNodeHashes(level * TILE_HEIGHT, start, start + width);
    return encodeTile(hashes);
  }

  /**
   * Signs and stores a checkpoint of the current tree (c2sp.org/tlog-checkpoint). Never signs two
   * checkpoints that contradict each other: a smaller size than the last, or the same size with another
   * root, throws ERR_LOG_EQUIVOCATION; a larger one must be provably consistent with the last.
   */
  checkpoint(): Promise<StoredCheckpoint> {
    const run = this.#checkpointChain.then(() => this.#checkpointNow());
    this.#checkpointChain = run.catch(() => undefined);
    return run;
  }

  async #checkpointNow(): Promise<StoredCheckpoint> {
    const size = this.#range.size;
    const rootHash = this.#range.root();
    await this.#verifyAboveFloors(size, rootHash);
    const last = this.#lastCheckpoint;
    if (last !== undefined) {
      if (size < last.size)
        throw logError('ERR_LOG_EQUIVOCATION', 'size-decrease', 'refusing to sign a smaller tree', {
          size,
          lastSize: last.size,
        });
      if (size === last.size) {
        if (!bytesEqual(rootHash, last.rootHash))
          throw logError(
            'ERR_LOG_EQUIVOCATION',
            'root-mismatch',
            'refusing to sign another root for this size',
            {
              size,
            },
          );
        return last;
      }
      if (last.size > 0) {
        try {
          const proof = await this.createConsistencyProof(last.size, size);
          verifyConsistencyProof(last.size, size, proof, last.rootHash, rootHash);
        } catch (cause) {
          if (isCareLedgerError(cause) && cause.code === 'ERR_STORAGE') throw cause;
          throw logError(
            'ERR_LOG_EQUIVOCATION',
            'inconsistent',
            'refusing to sign a tree inconsistent with the last checkpoint',
            { size, lastSize: last.size },
            cause,
          );
        }
      }
    }
    const note = signNote(formatCheckpoint({ origin: this.#origin, size, rootHash }), [this.#signer]);
    const record: StoredCheckpoint = { size, rootHash, note, time: this.#clock.now() };
    await this.#storage.saveCheckpoint(record);
    this.#lastCheckpoint = record;
    return record;
  }

  /**
   * Records a state of this log that an anchor or a witness holds, and fences the log when it is behind
   * it (a smaller size) or beside it (another root at that size). A fenced log appends nothing and signs
   * no checkpoint until it is reopened over storage that is not behind. Returns the fence reason, if any.
   */
  async raiseFloor(floor: LogFloor): Promise<string | undefined> {
    const known = this.#floors.get(floor.source);
    if (known === undefined || known.floor.size < floor.size)
      this.#floors.set(floor.source, { floor, rootChecked: false });
    try {
      await this.#verifyAboveFloors(this.#range.size, this.#range.root());
    } catch (error) {
      if (this.#fence === undefined) throw error;
    }
    return this.#fence;
  }

  /** Fences the log for a reason found outside it (e.g. a witness holding another root at our size). */
  fenceBecause(reason: string): void {
    this.#fence ??= reason;
  }

  /** Why the log refuses to append and sign (`log size 79 is behind anchor 109`), or undefined. */
  get fence(): string | undefined {
    return this.#fence;
  }

  #fencedError(): CareLedgerError {
    return logError('ERR_LOG_UNAVAILABLE', 'fenced', `log is fenced: ${this.#fence}`, { fence: this.#fence });
  }

  // Never signs a tree smaller than a floor, or one whose root at a floor's size is not the floor's.
  async #verifyAboveFloors(size: number, rootHash: Uint8Array): Promise<void> {
    if (this.#fence !== undefined) throw this.#fencedError();
    // Sizes first, synchronously, so no append slips in while a root is being read.
    for (const { floor } of this.#floors.values()) {
      if (size < floor.size) {
        this.fenceBecause(`log size ${size} is behind ${floor.source} ${floor.size}`);
        throw this.#fencedError();
      }
    }
    for (const known of this.#floors.values()) {
      const { floor } = known;
      if (floor.rootHash === undefined || known.rootChecked) continue;
      const root = size === floor.size ? rootHash : await this.rootAt(floor.size);
      if (!bytesEqual(root, floor.rootHash)) {
        this.fenceBecause(`log root at size ${floor.size} differs from ${floor.source}`);
        throw this.#fencedError();
      }
      known.rootChecked = true;
    }
  }

  /** The latest signed checkpoint note, with witness cosignatures once they are attached. */
  latestCheckpoint(): string | undefined {
    const last = this.#lastCheckpoint;
    return last === undefined ? undefined : (last.cosignedNote ?? last.note);
  }

  /** The latest stored checkpoint record (signed, maybe cosigned). */
  latestCheckpointRecord(): StoredCheckpoint | undefined {
    return this.#lastCheckpoint;
  }

  /** The latest checkpoint that has cosignatures attached. */
  latestCosignedCheckpoint(): StoredCheckpoint | undefined {
    return this.#latestCosigned;
  }

  /**
   * Stores a checkpoint note of this log with witness cosignatures added. The note must carry this
   * log's valid signature (so it is one we signed: we never sign two notes of one size).
   */
  async attachCosignatures(cosignedNote: string): Promise<StoredCheckpoint> {
    let checkpoint: ReturnType<typeof parseCheckpoint>;
    try {
      const verified = verifyNote(cosignedNote, [this.#verifier]);
      checkpoint = parseCheckpoint(verified.text);
    } catch (cause) {
      throw logError(
        'ERR_INVALID_INPUT',
        'not-our-checkpoint',
        'note is not a checkpoint signed by this log',
        {},
        cause,
      );
    }
    if (checkpoint.origin !== this.#origin)
      throw logError('ERR_INVALID_INPUT', 'origin-mismatch', 'checkpoint is for another origin');
    await this.#storage.saveCosignedCheckpoint(checkpoint.size, cosignedNote);
    const record: StoredCheckpoint = {
      size: checkpoint.size,
      rootHash: checkpoint.rootHash,
      note: this.#lastCheckpoint?.size === checkpoint.size ? this.#lastCheckpoint.note : cosignedNote,
      cosignedNote,
      time: this.#lastCheckpoint?.size === checkpoint.size ? this.#lastCheckpoint.time : this.#clock.now(),
    };
    if (this.#lastCheckpoint?.size === checkpoint.size) this.#lastCheckpoint = record;
    if (this.#latestCosigned === undefined || this.#latestCosigned.size <= checkpoint.size)
      this.#latestCosigned = record;
    return record;
  }

  /**
   * A C2SP tlog-proof (c2sp.org/tlog-proof) of entry `index`, with the entry bytes as `extra`, against
   * the latest cosigned checkpoint that covers it, else the latest signed one.
   */
  async createTlogProof(index: number): Promise<string> {
    if (!Number.isSafeInteger(index) || index < 0)
      throw logError('ERR_INVALID_INPUT', 'index', 'index is not a non-negative integer');
    const cosigned = this.#latestCosigned;
    const last = this.#lastCheckpoint;
    let checkpoint: { size: number; note: string } | undefined;
    if (cosigned?.cosignedNote !== undefined && index < cosigned.size)
      checkpoint = { size: cosigned.size, note: cosigned.cosignedNote };
    else if (last !== undefined && index < last.size)
      checkpoint = { size: last.size, note: last.cosignedNote ?? last.note };
    if (checkpoint === undefined)
      throw logError('ERR_NOT_FOUND', 'not-checkpointed', 'no checkpoint covers this entry yet');
    const proof = await this.createInclusionProof(index, checkpoint.size);
    const extra = await this.readEntry(index);
    return formatTlogProof({ extra, index, proof, checkpoint: checkpoint.note });
  }

  /**
   * Issues a checkpoint at most `intervalMs` after any append, and none while nothing changes.
   * Replaces earlier settings if called again.
   */
  startCheckpointing(options: StartCheckpointingOptions = {}): void {
    void this.#cancelCheckpointing();
    if (options.clock !== undefined) this.#clock = options.clock;
    const intervalMs = options.intervalMs ?? 1000;
    if (!Number.isFinite(intervalMs) || intervalMs < 0)
      throw logError('ERR_INVALID_INPUT', 'interval', 'intervalMs must be a non-negative number');
    this.#checkpointing = {
      intervalMs,
      clock: this.#clock,
      scheduler: options.scheduler ?? systemScheduler,
      onError: options.onError ?? (() => undefined),
      onCheckpoint: options.onCheckpoint,
      timer: undefined,
      running: Promise.resolve(),
    };
    this.#scheduleCheckpoint();
  }

  #scheduleCheckpoint(): void {
    const c = this.#checkpointing;
    if (c === undefined || c.timer !== undefined) return;
    if (this.#range.size === (this.#lastCheckpoint?.size ?? 0)) return;
    const due = (this.#lastCheckpoint?.time ?? Number.NEGATIVE_INFINITY) + c.intervalMs;
    const delay = Math.max(0, Math.min(c.intervalMs, due - c.clock.now()));
    c.timer = c.scheduler.setTimeout(() => {
      c.timer = undefined;
      c.running = this.#checkpointTick(c);
    }, delay);
  }

  async #checkpointTick(c: CheckpointingState): Promise<void> {
    try {
      const before = this.#lastCheckpoint;
      const record = await this.checkpoint();
      if (record !== before && c.onCheckpoint !== undefined) await c.onCheckpoint(record);
    } catch (error) {
      c.onError(error);
    }
    if (this.#checkpointing === c) this.#scheduleCheckpoint();
  }

  /** Stops background checkpointing and waits for a checkpoint in progress. */
  async stopCheckpointing(): Promise<void> {
    await this.#cancelCheckpointing();
  }

  #cancelCheckpointing(): Promise<void> {
    const c = this.#checkpointing;
    if (c === undefined) return Promise.resolve();
    this.#checkpointing = undefined;
    if (c.timer !== undefined) c.scheduler.clearTimeout(c.timer);
    c.timer = undefined;
    return c.running;
  }

  /** Stops checkpointing and waits for queued appends; further appends are refused. Storage stays open. */
  async stop(): Promise<void> {
    this.#closed = true;
    await this.stopCheckpointing();
    await this.flush();
  }
}

/**
 * Start-up audit: every stored entry re-hashed against its stored leaf hash, every stored node hash
 * recomputed, and the root at the last checkpoint recomputed from the entries themselves.
 */
async function auditStorage(
  storage: LogStorage,
  size: number,
  last: StoredCheckpoint | undefined,
): Promise<void> {
  const range = CompactRange.empty();
  const edge: TileEdge = [];
  const completed: StoredNodeHash[] = [];
  const checkRoot = (): void => {
    if (last !== undefined && range.size === last.size && !bytesEqual(range.root(), last.rootHash)) {
      throw logError(
        'ERR_LOG_EQUIVOCATION',
        'checkpoint-root-mismatch',
        'stored entries do not match the last signed checkpoint',
        { checkpointSize: last.size },
      );
    }
  };
  checkRoot();
  for (let start = 0; start < size; start += AUDIT_CHUNK) {
    const end = Math.min(size, start + AUDIT_CHUNK);
    const entries = await storage.readEntries(start, end);
    const leafHashes = await storage.readLeafHashes(start, end);
    for (let i = 0; i < entries.length; i++) {
      const h = hashLeaf(entries[i] as Uint8Array);
      if (!bytesEqual(h, leafHashes[i] as Uint8Array)) {
        throw logError('ERR_STORAGE', 'leaf-hash-mismatch', 'a stored entry does not match its leaf hash', {
          index: start + i,
        });
      }
      range.append(h);
      pushHash(edge, 0, h, completed);
      checkRoot();
    }
  }
  const byLevel = new Map<number, Uint8Array[]>();
  for (const node of completed) {
    const row = byLevel.get(node.level) ?? [];
    row.push(node.hash);
    byLevel.set(node.level, row);
  }
  for (const [level, hashes] of byLevel) {
    for (let start = 0; start < hashes.length; start += AUDIT_CHUNK) {
      const end = Math.min(hashes.length, start + AUDIT_CHUNK);
      const stored = await storage.readNodeHashes(level, start, end);
      stored.forEach((h, i) => {
        if (!bytesEqual(h, hashes[start + i] as Uint8Array)) {
          throw logError(
            'ERR_STORAGE',
            'node-hash-mismatch',
            'a stored node hash does not match the entries',
            {
              level,
              index: start + i,
            },
          );
        }
      });
    }
  }
}
