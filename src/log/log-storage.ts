import { CareLedgerError } from '../errors/index.js';
import { TILE_HEIGHT } from './tiles.js';

/**
 * The storage a transparency log needs, declared by the domain and implemented by adapters (SQLite now,
 * PostgreSQL later; `MemoryLogStorage` is the in-memory twin for unit tests).
 *
 * Hashes are kept at RFC 9162 tree levels that are multiples of the tile height (8): level 0 holds the
 * leaf hashes, level 8k (k ≥ 1) the root of every *completed* perfect subtree of 256^k leaves. These are
 * exactly the hashes of C2SP tlog-tiles (c2sp.org/tlog-tiles "Merkle Tree"), so a tile is one range read,
 * and any node of the tree is the root of at most 256 stored hashes of one level.
 */

/** The root of the perfect subtree over leaves [index·2^level, (index+1)·2^level); level is 8k, k ≥ 1. */
export interface StoredNodeHash {
  readonly level: number;
  readonly index: number;
  readonly hash: Uint8Array;
}

/**
 * A write that must be durable together with log entries, or not at all (e.g. the record version an
 * AuditEvent entry describes). Plain, structured-clonable data, never a closure: it may come from
 * another process (a worker handing its writes to the one sequencer) and is applied by the storage
 * adapter inside its own transaction, synchronously (SQLite) or not (PostgreSQL). The log never reads
 * it; the domain that writes it declares its kinds (the vault: src/vault/commit-writes.ts).
 */
export interface CommitWrite {
  readonly kind: string;
}

/** The commit writes of one appendAll group, with the log index of the group's first entry. */
export interface CommitGroup {
  readonly firstIndex: number;
  readonly writes: readonly CommitWrite[];
}

/**
 * How a storage adapter applies commit writes inside the transaction of an append. It is given to the
 * adapter by the composition root; it throws to roll the whole batch back.
 */
export type ApplyCommitGroup = (group: CommitGroup) => void;

/** One group-committed write. `startIndex` must equal the stored size, or the write is refused. */
export interface LogAppendBatch {
  readonly startIndex: number;
  readonly entries: readonly Uint8Array[];
  /** `hashLeaf(entries[i])`, same length as `entries`. */
  readonly leafHashes: readonly Uint8Array[];
  /** Node hashes completed by this batch, at levels 8, 16, ... */
  readonly nodeHashes: readonly StoredNodeHash[];
  /**
   * Writes that must be durable together with these entries, per appendAll group, in append order.
   * The adapter applies them inside the storage transaction; if one fails, the whole batch is rolled
   * back. Callers make them conflict-free beforehand.
   */
  readonly withinCommit?: readonly CommitGroup[];
}

/** A checkpoint this log signed. */
export interface StoredCheckpoint {
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** The signed note as the log signed it. */
  readonly note: string;
  /** The same note with witness cosignatures added, once collected. */
  readonly cosignedNote?: string;
  /** When it was signed, in milliseconds since the Unix epoch (from the injected clock). */
  readonly time: number;
}

/** What a witness last cosigned for one foreign log (c2sp.org/tlog-witness "Witness state"). */
export interface WitnessLogState {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** The checkpoint note that was cosigned, kept as evidence. */
  readonly checkpoint: string;
  readonly time: number;
}

/** The witness-state half of LogStorage, which is all a Witness needs. */
export interface WitnessStateStorage {
  loadWitnessState(origin: string): Promise<WitnessLogState | undefined>;
  /**
   * Compare-and-set: records `state` only if the stored size for its origin is still `expectedSize`
   * (0 when there is none). Returns false, writing nothing, if another request got there first.
   */
  saveWitnessState(state: WitnessLogState, expectedSize: number): Promise<boolean>;
  listWitnessStates(): Promise<WitnessLogState[]>;
}

export interface LogStorage extends WitnessStateStorage {
  /** Number of durably stored entries. */
  size(): Promise<number>;
  /**
   * Writes a batch atomically and durably (one transaction, one fsync): either all of it is stored when
   * the promise resolves, or nothing is and it rejects with ERR_STORAGE.
   */
  appendBatch(batch: LogAppendBatch): Promise<void>;
  /** Entries [start, end); rejects with ERR_STORAGE if any is missing. */
  readEntries(start: number, end: number): Promise<Uint8Array[]>;
  /** Leaf hashes [start, end); rejects with ERR_STORAGE if any is missing. */
  readLeafHashes(start: number, end: number): Promise<Uint8Array[]>;
  /** Node hashes at `level` (8k, k ≥ 1) with indices [start, end); rejects with ERR_STORAGE if missing. */
  readNodeHashes(level: number, start: number, end: number): Promise<Uint8Array[]>;

  /** Stores a newly signed checkpoint; rejects if one with the same size exists. */
  saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  /** Attaches a cosigned note to the checkpoint of that size. */
  saveCosignedCheckpoint(size: number, cosignedNote: string): Promise<void>;
  /** The checkpoint with the largest size, if any. */
  latestCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** The cosigned checkpoint with the largest size, if any. */
  latestCosignedCheckpoint(): Promise<StoredCheckpoint | undefined>;
  /** Signed checkpoints, newest first. */
  listCheckpoints(options?: { limit?: number }): Promise<StoredCheckpoint[]>;

  close(): Promise<void>;
}

/** The applier an adapter was not given: a batch with commit writes is refused, never half-applied. */
export const refuseCommitWrites: ApplyCommitGroup = () => {
  storageError('no-commit-applier', 'this log storage was not given a way to apply commit writes');
};

function storageError(reason: string, message: string): never {
  throw new CareLedgerError('ERR_STORAGE', message, { details: { reason } });
}

/** Checks a batch against the stored counts; shared by the adapters so they refuse the same things. */
export function checkAppendBatch(
  batch: LogAppendBatch,
  size: number,
  nodeCount: (level: number) => number,
): void {
  if (batch.startIndex !== size) storageError('size-mismatch', 'batch does not start at the stored size');
  if (batch.entries.length !== batch.leafHashes.length)
    storageError('batch-shape', 'batch has one leaf hash per entry');
  const next = new Map<number, number>();
  for (const node of batch.nodeHashes) {
    if (node.level < TILE_HEIGHT || node.level % TILE_HEIGHT !== 0)
      storageError('node-level', 'node hashes are stored at levels 8, 16, ... only');
    const expected = next.get(node.level) ?? nodeCount(node.level);
    if (node.index !== expected) storageError('node-order', 'node hashes must be appended densely');
    if (node.index * 2 ** node.level + 2 ** node.level > batch.startIndex + batch.entries.length)
      storageError('node-beyond-tree', 'node hash covers leaves that do not exist');
    next.set(node.level, expected + 1);
  }
}
