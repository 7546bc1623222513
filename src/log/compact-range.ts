import { CareLedgerError } from '../errors/index.js';
import { bitAt, onesCount } from './bits.js';
import { emptyRoot, HASH_SIZE, hashChildren, hashLeaf } from './merkle-hash.js';

/**
 * Incremental Merkle tree root (RFC 9162 §2.1.1 MTH) over leaves appended one at a time. Keeps only the
 * roots of the perfect subtrees that make up the tree, one per set bit of the size (a binary counter),
 * so memory is O(log n) and each append costs O(1) amortised hashes.
 */
export class CompactRange {
  #size: number;
  /** Perfect subtree roots, largest (leftmost) first. */
  readonly #hashes: Uint8Array[];

  private constructor(size: number, hashes: Uint8Array[]) {
    this.#size = size;
    this.#hashes = hashes;
  }

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** Rebuilds a range saved with `size` and `hashes()`; there must be one hash per set bit of size. */
  static from(size: number, hashes: readonly Uint8Array[]): CompactRange {
    if (!Number.isSafeInteger(size) || size < 0 || hashes.length !== onesCount(size)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'compact range hashes do not match its size', {
        details: { reason: 'compact-range-shape' },
      });
    }
    for (const h of hashes) {
      if (h.length !== HASH_SIZE) {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'compact range hash is not 32 bytes', {
          details: { reason: 'hash-length' },
        });
      }
    }
    return new CompactRange(
      size,
      hashes.map((h) => h.slice()),
    );
  }

  get size(): number {
    return this.#size;
  }

  /** Copies of the perfect subtree roots, largest first, for persistence. */
  hashes(): Uint8Array[] {
    return this.#hashes.map((h) => h.slice());
  }

  /** Appends a leaf hash (already `hashLeaf`ed). */
  append(leafHash: Uint8Array): void {
    if (leafHash.length !== HASH_SIZE) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'leaf hash is not 32 bytes', {
        details: { reason: 'hash-length' },
      });
    }
    if (this.#size >= Number.MAX_SAFE_INTEGER) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'tree is full', { details: { reason: 'size-limit' } });
    }
    this.#hashes.push(leafHash.slice());
    // Each trailing 1 bit of the old size is a perfect subtree of the same height as the carry: merge.
    for (let level = 0; bitAt(this.#size, level) === 1; level++) {
      const right = this.#hashes.pop() as Uint8Array;
      const left = this.#hashes.pop() as Uint8Array;
      this.#hashes.push(hashChildren(left, right));
    }
    this.#size += 1;
  }

  appendEntry(entry: Uint8Array): void {
    this.append(hashLeaf(entry));
  }

  /** MTH of the leaves appended so far: the perfect subtree roots folded right to left. */
  root(): Uint8Array {
    const last = this.#hashes.at(-1);
    if (last === undefined) return emptyRoot();
    let acc = last;
    for (let i = this.#hashes.length - 2; i >= 0; i--) acc = hashChildren(this.#hashes[i] as Uint8Array, acc);
    return acc;
  }
}
