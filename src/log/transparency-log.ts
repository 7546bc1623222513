import {
  type CheckpointedLog,
  CheckpointSchedule,
  type StartCheckpointingOptions,
} from './checkpoint-schedule.js';
import { createConsistencyProof, createInclusionProof, rootAt } from './create-proof.js';
import { type AppendOptions, type AppendResult, GroupCommit } from './group-commit.js';
import { type Clock, systemClock } from './log-clock.js';
import { logError } from './log-error.js';
import { LogFence, type LogFloor } from './log-fence.js';
import type { LogStorage, StoredCheckpoint } from './log-storage.js';
import { SignedCheckpoints } from './signed-checkpoints.js';
import { type NoteSigner, type NoteVerifier, parseSignerKey, verifierOf } from './signed-note.js';
import { encodeEntryBundle, encodeTile, TILE_HEIGHT, TILE_WIDTH } from './tiles.js';
import { formatTlogProof } from './tlog-proof.js';
import { loadTreeEdge, type TreeEdge } from './tree-edge.js';
import { verifyStoredCheckpoint, verifyStoredTree } from './verify-log-storage.js';
import { withStoredHashes } from './with-stored-hashes.js';

export type { StartCheckpointingOptions } from './checkpoint-schedule.js';
export type { AppendOptions, AppendResult } from './group-commit.js';
export { type Clock, type Scheduler, systemClock, systemScheduler } from './log-clock.js';
export type { LogFloor } from './log-fence.js';

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
   * Milliseconds a commit waits for more appends to share it while requests commit side by side
   * (default DEFAULT_GROUP_WINDOW_MS, 0 never waits). A writer alone never waits.
   */
  readonly groupWindowMs?: number;
  /**
   * Start-up check. 'full' (default) re-hashes every stored entry and every stored node hash and
   * recomputes the root at the last signed checkpoint: O(n), catches any changed row. 'fast' only
   * recomputes that root from the stored subtree hashes: O(log n) reads.
   */
  readonly verify?: 'full' | 'fast';
}

const DEFAULT_MAX_BATCH = 4096;

/**
 * A node's RFC 9162 transparency log (c2sp.org/tlog-tiles layout) with group commit, signed
 * checkpoints that it refuses to contradict, and C2SP tlog proofs. This class holds the parts
 * together; each duty is its own module (decision 0044): writing (GroupCommit), signing
 * (SignedCheckpoints), floors and fence (LogFence), background checkpoints (CheckpointSchedule),
 * start-up checks (verify-log-storage) and proofs over storage (withStoredHashes).
 */
export class TransparencyLog implements CheckpointedLog {
  readonly #storage: LogStorage;
  readonly #verifier: NoteVerifier;
  readonly #origin: string;
  readonly #commit: GroupCommit;
  readonly #checkpoints: SignedCheckpoints;
  readonly #fence = new LogFence();
  readonly #schedule = new CheckpointSchedule(this);
  #closed = false;
  #checkpointChain: Promise<unknown> = Promise.resolve();

  private constructor(
    options: OpenTransparencyLogOptions,
    signer: NoteSigner,
    state: { tree: TreeEdge; last?: StoredCheckpoint; cosigned?: StoredCheckpoint },
  ) {
    this.#storage = options.storage;
    this.#verifier = verifierOf(signer);
    this.#origin = options.origin ?? signer.name;
    this.#commit = new GroupCommit(
      options.storage,
      options.maxBatchSize ?? DEFAULT_MAX_BATCH,
      state.tree,
      {
        fencedError: () => (this.#fence.reason === undefined ? undefined : this.#fence.error()),
        onCommitted: () => this.#schedule.schedule(),
      },
      options.groupWindowMs,
    );
    this.#checkpoints = new SignedCheckpoints(
      {
        storage: options.storage,
        signer,
        verifier: this.#verifier,
        origin: this.#origin,
        verifyAboveFloors: (size, rootHash) => this.#fence.verifyAbove(size, rootHash, (s) => this.rootAt(s)),
        createConsistencyProof: (oldSize, newSize) => this.createConsistencyProof(oldSize, newSize),
      },
      options.clock ?? systemClock,
      state.last,
      state.cosigned,
    );
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
    const window = options.groupWindowMs ?? 0;
    if (!Number.isFinite(window) || window < 0 || window > 100)
      throw logError('ERR_INVALID_INPUT', 'group-window', 'groupWindowMs must be between 0 and 100');
    const { storage } = options;
    const size = await storage.size();
    const last = await storage.latestCheckpoint();
    const cosigned = await storage.latestCosignedCheckpoint();
    const tree = await loadTreeEdge(storage, size);
    if ((options.verify ?? 'full') === 'full') await verifyStoredTree(storage, size, last);
    if (last !== undefined)
      await verifyStoredCheckpoint(storage, size, last, signer, options.origin ?? signer.name);
    return new TransparencyLog(options, signer, {
      tree,
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
    return this.#commit.size;
  }

  /** RFC 9162 root of the durably stored entries. */
  root(): Uint8Array {
    return this.#commit.root();
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
    if (this.#commit.failed !== undefined) return Promise.reject(this.#commit.failed);
    if (this.#fence.reason !== undefined) return Promise.reject(this.#fence.error());
    return this.#commit.enqueue(entries, options);
  }

  /** Resolves once every append queued so far has been written or has failed. */
  flush(): Promise<void> {
    return this.#commit.flush();
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
    const run = this.#checkpointChain.then(() => this.#checkpoints.sign(this.size, this.root()));
    this.#checkpointChain = run.catch(() => undefined);
    return run;
  }

  /**
   * Records a state of this log that an anchor or a witness holds, and fences the log when it is behind
   * it (a smaller size) or beside it (another root at that size). A fenced log appends nothing and signs
   * no checkpoint until it is reopened over storage that is not behind. Returns the fence reason, if any.
   */
  async raiseFloor(floor: LogFloor): Promise<string | undefined> {
    this.#fence.record(floor);
    try {
      await this.#fence.verifyAbove(this.size, this.root(), (s) => this.rootAt(s));
    } catch (error) {
      if (this.#fence.reason === undefined) throw error;
    }
    return this.#fence.reason;
  }

  /** Fences the log for a reason found outside it (e.g. a witness holding another root at our size). */
  fenceBecause(reason: string): void {
    this.#fence.fenceBecause(reason);
  }

  /** Why the log refuses to append and sign (`log size 79 is behind anchor 109`), or undefined. */
  get fence(): string | undefined {
    return this.#fence.reason;
  }

  /** The latest signed checkpoint note, with witness cosignatures once they are attached. */
  latestCheckpoint(): string | undefined {
    const last = this.#checkpoints.last;
    return last === undefined ? undefined : (last.cosignedNote ?? last.note);
  }

  /** The latest stored checkpoint record (signed, maybe cosigned). */
  latestCheckpointRecord(): StoredCheckpoint | undefined {
    return this.#checkpoints.last;
  }

  /** The latest checkpoint that has cosignatures attached. */
  latestCosignedCheckpoint(): StoredCheckpoint | undefined {
    return this.#checkpoints.cosigned;
  }

  /**
   * Stores a checkpoint note of this log with witness cosignatures added. The note must carry this
   * log's valid signature (so it is one we signed: we never sign two notes of one size).
   */
  attachCosignatures(cosignedNote: string): Promise<StoredCheckpoint> {
    return this.#checkpoints.attachCosignatures(cosignedNote);
  }

  /**
   * A C2SP tlog-proof (c2sp.org/tlog-proof) of entry `index`, with the entry bytes as `extra`, against
   * the latest cosigned checkpoint that covers it, else the latest signed one.
   */
  async createTlogProof(index: number): Promise<string> {
    if (!Number.isSafeInteger(index) || index < 0)
      throw logError('ERR_INVALID_INPUT', 'index', 'index is not a non-negative integer');
    const checkpoint = this.#checkpoints.covering(index);
    const proof = await this.createInclusionProof(index, checkpoint.size);
    const extra = await this.readEntry(index);
    return formatTlogProof({ extra, index, proof, checkpoint: checkpoint.note });
  }

  /**
   * Issues a checkpoint at most `intervalMs` after any append, and none while nothing changes.
   * Replaces earlier settings if called again.
   */
  startCheckpointing(options: StartCheckpointingOptions = {}): void {
    void this.#schedule.cancel();
    if (options.clock !== undefined) this.#checkpoints.clock = options.clock;
    this.#schedule.start(options, this.#checkpoints.clock);
  }

  /** Stops background checkpointing and waits for a checkpoint in progress. */
  async stopCheckpointing(): Promise<void> {
    await this.#schedule.cancel();
  }

  /** Stops checkpointing and waits for queued appends; further appends are refused. Storage stays open. */
  async stop(): Promise<void> {
    this.#closed = true;
    await this.stopCheckpointing();
    await this.flush();
  }
}
