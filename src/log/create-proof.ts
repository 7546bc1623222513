import { CareLedgerError } from '../errors/index.js';
import { isPowerOfTwo, largestPowerOfTwoBelow } from './bits.js';
import { emptyRoot, HASH_SIZE, hashChildren } from './merkle-hash.js';
import { isValidSubtree } from './verify-proof.js';

/**
 * Read access to a log's hashes, implemented by storage. A node at (level L, index N) is the root of the
 * perfect subtree over leaves [N·2^L, (N+1)·2^L); it exists once the tree has (N+1)·2^L leaves.
 * `getNodeHash` lets a store serve such nodes directly (e.g. from tiles); if it is absent or returns
 * undefined, the node is recomputed from its children, down to leaf hashes.
 */
export interface HashReader {
  readonly size: number;
  getLeafHash(index: number): Uint8Array;
  getNodeHash?(level: number, index: number): Uint8Array | undefined;
}

function invalid(reason: string, message: string): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, { details: { reason } });
}

function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    invalid('invalid-size', `${what} is not a non-negative safe integer`);
}

function checkHash(h: Uint8Array | undefined): Uint8Array {
  if (h === undefined || h.length !== HASH_SIZE) {
    throw new CareLedgerError('ERR_STORAGE', 'hash reader returned a hash that is not 32 bytes', {
      details: { reason: 'hash-length' },
    });
  }
  return h;
}

/** Hash of the perfect node (level, index); O(1) reads when the reader serves node hashes. */
export function nodeHash(reader: HashReader, level: number, index: number): Uint8Array {
  if (level === 0) return checkHash(reader.getLeafHash(index));
  const stored = reader.getNodeHash?.(level, index);
  if (stored !== undefined) return checkHash(stored);
  return hashChildren(nodeHash(reader, level - 1, 2 * index), nodeHash(reader, level - 1, 2 * index + 1));
}

// RFC 9162 §2.1.1 MTH(D[lo:hi]) for a range produced by the MTH recursion (lo is a multiple of the
// largest power of two below hi - lo), so every left part is a perfect, aligned node.
function rangeHash(reader: HashReader, lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (isPowerOfTwo(n)) return nodeHash(reader, Math.log2(n), lo / n);
  const k = largestPowerOfTwoBelow(n);
  return hashChildren(nodeHash(reader, Math.log2(k), lo / k), rangeHash(reader, lo + k, hi));
}

/** RFC 9162 §2.1.1: MTH of the first `size` leaves. */
export function rootAt(reader: HashReader, size: number): Uint8Array {
  checkCount(size, 'size');
  if (size > reader.size) invalid('size-beyond-tree', 'requested size is beyond the tree');
  return size === 0 ? emptyRoot() : rangeHash(reader, 0, size);
}

/** MTH(D[start:end]) of a subtree (draft-ietf-plants-merkle-tree-certs §4.1). */
export function subtreeHash(reader: HashReader, start: number, end: number): Uint8Array {
  if (!isValidSubtree(start, end)) invalid('subtree-invalid', 'range is not a Merkle subtree');
  if (end > reader.size) invalid('size-beyond-tree', 'subtree ends beyond the tree');
  return start === end ? emptyRoot() : rangeHash(reader, start, end);
}

// RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]), unrolled: siblings are collected root-down, then reversed.
// Once the path turns left, every later sibling is perfect, so at most one ephemeral node is computed.
function inclusionPath(reader: HashReader, index: number, lo: number, hi: number): Uint8Array[] {
  const path: Uint8Array[] = [];
  let l = lo;
  let h = hi;
  while (h - l > 1) {
    const k = largestPowerOfTwoBelow(h - l);
    if (index < l + k) {
      path.push(rangeHash(reader, l + k, h));
      h = l + k;
    } else {
      path.push(rangeHash(reader, l, l + k));
      l += k;
    }
  }
  return path.reverse();
}

/** RFC 9162 §2.1.3.1: inclusion proof for leaf `index` in the tree of `size` leaves. */
export function createInclusionProof(reader: HashReader, index: number, size: number): Uint8Array[] {
  checkCount(index, 'index');
  checkCount(size, 'size');
  if (size > reader.size) invalid('size-beyond-tree', 'requested size is beyond the tree');
  if (index >= size) invalid('index-out-of-range', 'leaf index is not below the tree size');
  return inclusionPath(reader, index, 0, size);
}

/** Inclusion proof of leaf `index` in the subtree [start, end) (draft-ietf-plants-merkle-tree-certs §4.3). */
export function createSubtreeInclusionProof(
  reader: HashReader,
  index: number,
  start: number,
  end: number,
): Uint8Array[] {
  checkCount(index, 'index');
  if (!isValidSubtree(start, end)) invalid('subtree-invalid', 'range is not a Merkle subtree');
  if (end > reader.size) invalid('size-beyond-tree', 'subtree ends beyond the tree');
  if (index < start || index >= end) invalid('index-out-of-range', 'leaf index is outside the subtree');
  return inclusionPath(reader, index, start, end);
}

// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), generalised to a subtree [start, end) of the node [lo, hi)
// as in draft-ietf-plants-merkle-tree-certs §4.4 (for a plain consistency proof, start = 0).
function subproof(
  reader: HashReader,
  start: number,
  end: number,
  lo: number,
  hi: number,
  known: boolean,
  out: Uint8Array[],
): void {
  if (start === lo && end === hi) {
    if (!known) out.push(rangeHash(reader, lo, hi));
    return;
  }
  const mid = lo + largestPowerOfTwoBelow(hi - lo);
  if (end <= mid) {
    subproof(reader, start, end, lo, mid, known, out);
    out.push(rangeHash(reader, mid, hi));
  } else if (start >= mid) {
    subproof(reader, start, end, mid, hi, known, out);
    out.push(rangeHash(reader, lo, mid));
  } else {
    // start < mid < end: a valid subtree then starts at lo, and its left part [lo, mid) is complete.
    subproof(reader, mid, end, mid, hi, false, out);
    out.push(rangeHash(reader, lo, mid));
  }
}

/** RFC 9162 §2.1.4.1: consistency proof from the tree of `oldSize` leaves to the one of `newSize`. */
export function createConsistencyProof(reader: HashReader, oldSize: number, newSize: number): Uint8Array[] {
  checkCount(oldSize, 'old size');
  checkCount(newSize, 'new size');
  if (newSize > reader.size) invalid('size-beyond-tree', 'requested size is beyond the tree');
  if (oldSize > newSize) invalid('size-order', 'old size is larger than new size');
  if (oldSize === 0) invalid('empty-old-tree', 'consistency proof from the empty tree is meaningless');
  const out: Uint8Array[] = [];
  if (oldSize < newSize) subproof(reader, 0, oldSize, 0, newSize, true, out);
  return out;
}

/** Consistency proof from the subtree [start, end) to the tree of `size` leaves. */
export function createSubtreeConsistencyProof(
  reader: HashReader,
  start: number,
  end: number,
  size: number,
): Uint8Array[] {
  checkCount(size, 'size');
  if (!isValidSubtree(start, end)) invalid('subtree-invalid', 'range is not a Merkle subtree');
  if (end > size) invalid('size-order', 'subtree ends after the tree');
  if (size > reader.size) invalid('size-beyond-tree', 'requested size is beyond the tree');
  const out: Uint8Array[] = [];
  if (start < end) subproof(reader, start, end, 0, size, true, out);
  return out;
}

/** A HashReader over leaf hashes held in memory; the in-memory twin of a storage-backed reader. */
export function createMemoryHashReader(leafHashes: readonly Uint8Array[]): HashReader {
  return {
    size: leafHashes.length,
    getLeafHash(index) {
      const h = leafHashes[index];
      if (h === undefined) invalid('index-out-of-range', 'leaf index is beyond the tree');
      return h;
    },
  };
}
