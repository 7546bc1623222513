import { isCareLedgerError } from '../errors/index.js';
import { formatCheckpoint, parseCheckpoint } from './checkpoint.js';
import type { Clock } from './log-clock.js';
import { logError } from './log-error.js';
import type { LogStorage, StoredCheckpoint } from './log-storage.js';
import { bytesEqual } from './merkle-hash.js';
import { type NoteSigner, type NoteVerifier, signNote, verifyNote } from './signed-note.js';
import { verifyConsistencyProof } from './verify-proof.js';

/** What signing needs from the rest of the log. */
export interface SignedCheckpointsDeps {
  readonly storage: LogStorage;
  readonly signer: NoteSigner;
  readonly verifier: NoteVerifier;
  readonly origin: string;
  /** Throws when the log is fenced or the tree is behind or beside a floor (see LogFence). */
  readonly verifyAboveFloors: (size: number, rootHash: Uint8Array) => Promise<void>;
  readonly createConsistencyProof: (oldSize: number, newSize: number) => Promise<Uint8Array[]>;
}

/**
 * The checkpoints a log signed (c2sp.org/tlog-checkpoint) and the witness cosignatures attached to
 * them. Signs a new one only when it is consistent with the last, so the log never equivocates.
 */
export class SignedCheckpoints {
  readonly #deps: SignedCheckpointsDeps;
  /** Time of signing and of cosignatures; `startCheckpointing` may replace it. */
  clock: Clock;
  #last: StoredCheckpoint | undefined;
  #cosigned: StoredCheckpoint | undefined;

  constructor(
    deps: SignedCheckpointsDeps,
    clock: Clock,
    last: StoredCheckpoint | undefined,
    cosigned: StoredCheckpoint | undefined,
  ) {
    this.#deps = deps;
    this.clock = clock;
    this.#last = last;
    this.#cosigned = cosigned;
  }

  /** The latest stored checkpoint record (signed, maybe cosigned). */
  get last(): StoredCheckpoint | undefined {
    return this.#last;
  }

  /** The latest checkpoint that has cosignatures attached. */
  get cosigned(): StoredCheckpoint | undefined {
    return this.#cosigned;
  }

  /**
   * Signs and stores a checkpoint of the tree of `size` entries with `rootHash`, or returns the last
   * one if it is of this tree. A smaller size than the last, or the same size with another root,
   * throws ERR_LOG_EQUIVOCATION; a larger one must be provably consistent with the last.
   */
  async sign(size: number, rootHash: Uint8Array): Promise<StoredCheckpoint> {
    await this.#deps.verifyAboveFloors(size, rootHash);
    const last = this.#last;
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
          const proof = await this.#deps.createConsistencyProof(last.size, size);
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
    const { signer, origin, storage } = this.#deps;
    const note = signNote(formatCheckpoint({ origin, size, rootHash }), [signer]);
    const record: StoredCheckpoint = { size, rootHash, note, time: this.clock.now() };
    await storage.saveCheckpoint(record);
    this.#last = record;
    return record;
  }

  /**
   * Stores a checkpoint note of this log with witness cosignatures added. The note must carry this
   * log's valid signature (so it is one we signed: we never sign two notes of one size).
   */
  async attachCosignatures(cosignedNote: string): Promise<StoredCheckpoint> {
    let checkpoint: ReturnType<typeof parseCheckpoint>;
    try {
      const verified = verifyNote(cosignedNote, [this.#deps.verifier]);
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
    if (checkpoint.origin !== this.#deps.origin)
      throw logError('ERR_INVALID_INPUT', 'origin-mismatch', 'checkpoint is for another origin');
    await this.#deps.storage.saveCosignedCheckpoint(checkpoint.size, cosignedNote);
    const record: StoredCheckpoint = {
      size: checkpoint.size,
      rootHash: checkpoint.rootHash,
      note: this.#last?.size === checkpoint.size ? this.#last.note : cosignedNote,
      cosignedNote,
      time: this.#last?.size === checkpoint.size ? this.#last.time : this.clock.now(),
    };
    if (this.#last?.size === checkpoint.size) this.#last = record;
    if (this.#cosigned === undefined || this.#cosigned.size <= checkpoint.size) this.#cosigned = record;
    return record;
  }

  /**
   * The checkpoint a tlog proof of entry `index` is made against: the latest cosigned one that covers
   * it, else the latest signed one. Throws ERR_NOT_FOUND when none covers it yet.
   */
  covering(index: number): { size: number; note: string } {
    const cosigned = this.#cosigned;
    const last = this.#last;
    let checkpoint: { size: number; note: string } | undefined;
    if (cosigned?.cosignedNote !== undefined && index < cosigned.size)
      checkpoint = { size: cosigned.size, note: cosigned.cosignedNote };
    else if (last !== undefined && index < last.size)
      checkpoint = { size: last.size, note: last.cosignedNote ?? last.note };
    if (checkpoint === undefined)
      throw logError('ERR_NOT_FOUND', 'not-checkpointed', 'no checkpoint covers this entry yet');
    return checkpoint;
  }
}
