import { CareLedgerError } from '../errors/index.js';
import {
  type ApplyCommitGroup,
  checkAppendBatch,
  type LogAppendBatch,
  type LogStorage,
  refuseCommitWrites,
  type StoredCheckpoint,
  type StoredNodeHash,
  type WitnessLogState,
} from './log-storage.js';

function storageError(reason: string, message: string): never {
  throw new CareLedgerError('ERR_STORAGE', message, { details: { reason } });
}

function range<T>(items: readonly T[], start: number, end: number, what: string): T[] {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start)
    storageError('range', `invalid ${what} range`);
  if (end > items.length) storageError('missing', `${what} beyond the stored ones`);
  return items.slice(start, end).map((item) => (item instanceof Uint8Array ? item.slice() : item) as T);
}

/** In-memory twin of the SQLite/PostgreSQL log storage, for unit tests. Not durable. */
export class MemoryLogStorage implements LogStorage {
  readonly #entries: Uint8Array[] = [];
  readonly #leafHashes: Uint8Array[] = [];
  readonly #nodes = new Map<number, Uint8Array[]>();
  readonly #checkpoints: StoredCheckpoint[] = [];
  readonly #witness = new Map<string, WitnessLogState>();
  readonly #applyCommitGroup: ApplyCommitGroup;
  #closed = false;

  /** `applyCommitGroup` applies the batches' commit writes (default: batches with any are refused). */
  constructor(options: { applyCommitGroup?: ApplyCommitGroup } = {}) {
    this.#applyCommitGroup = options.applyCommitGroup ?? refuseCommitWrites;
  }

  #open(): void {
    if (this.#closed) storageError('closed', 'storage is closed');
  }

  async size(): Promise<number> {
    this.#open();
    return this.#entries.length;
  }

  async appendBatch(batch: LogAppendBatch): Promise<void> {
    this.#open();
    checkAppendBatch(batch, this.#entries.length, (level) => this.#nodes.get(level)?.length ?? 0);
    // Run first: if one throws, nothing of the batch is appended (the in-memory "rollback").
    for (const group of batch.withinCommit ?? []) this.#applyCommitGroup(group);
    for (const [i, entry] of batch.entries.entries()) {
      this.#entries.push(entry.slice());
      this.#leafHashes.push((batch.leafHashes[i] as Uint8Array).slice());
    }
    for (const node of batch.nodeHashes as StoredNodeHash[]) {
      let level = this.#nodes.get(node.level);
      if (level === undefined) {
        level = [];
        this.#nodes.set(node.level, level);
      }
      level.push(node.hash.slice());
    }
  }

  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    this.#open();
    return range(this.#entries, start, end, 'entry');
  }

  async readLeafHashes(start: number, end: number): Promise<Uint8Array[]> {
    this.#open();
    return range(this.#leafHashes, start, end, 'leaf hash');
  }

  async readNodeHashes(level: number, start: number, end: number): Promise<Uint8Array[]> {
    this.#open();
    return range(this.#nodes.get(level) ?? [], start, end, 'node hash');
  }

  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    this.#open();
    if (this.#checkpoints.some((c) => c.size === checkpoint.size))
      storageError('duplicate-checkpoint', 'a checkpoint of this size is already stored');
    this.#checkpoints.push({ ...checkpoint, rootHash: checkpoint.rootHash.slice() });
    this.#checkpoints.sort((a, b) => a.size - b.size);
  }

  async saveCosignedCheckpoint(size: number, cosignedNote: string): Promise<void> {
    this.#open();
    const i = this.#checkpoints.findIndex((c) => c.size === size);
    const found = this.#checkpoints[i];
    if (found === undefined) storageError('missing', 'no checkpoint of this size');
    this.#checkpoints[i] = { ...found, cosignedNote };
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    this.#open();
    return this.#checkpoints.at(-1);
  }

  async latestCosignedCheckpoint(): Promise<StoredCheckpoint | undefined> {
    this.#open();
    return this.#checkpoints.findLast((c) => c.cosignedNote !== undefined);
  }

  async listCheckpoints(options: { limit?: number } = {}): Promise<StoredCheckpoint[]> {
    this.#open();
    return this.#checkpoints.slice().reverse().slice(0, options.limit);
  }

  async loadWitnessState(origin: string): Promise<WitnessLogState | undefined> {
    this.#open();
    return this.#witness.get(origin);
  }

  async saveWitnessState(state: WitnessLogState, expectedSize: number): Promise<boolean> {
    this.#open();
    if ((this.#witness.get(state.origin)?.size ?? 0) !== expectedSize) return false;
    this.#witness.set(state.origin, { ...state, rootHash: state.rootHash.slice() });
    return true;
  }

  async listWitnessStates(): Promise<WitnessLogState[]> {
    this.#open();
    return [...this.#witness.values()];
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
