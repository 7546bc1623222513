import { CareLedgerError } from '../errors/index.js';
import { bitAt, bitCeil, bitLength, onesCount, shiftRight, trailingZeros, xor } from './bits.js';
import { bytesEqual, emptyRoot, HASH_SIZE, hashChildren } from './merkle-hash.js';

/**
 * The closed list of reasons a proof is rejected, carried in `details.check` of an
 * `ERR_LOG_PROOF_INVALID` error.
 */
export const PROOF_CHECKS = [
  /** A size or index is not a non-negative safe integer (sizes above 2^53 - 1 are not supported). */
  'invalid-size',
  /** The leaf index is not inside the tree (or subtree). */
  'index-out-of-range',
  /** The leaf hash is not 32 bytes. */
  'leaf-hash-length',
  /** A proof element is not 32 bytes. */
  'proof-hash-length',
  /** The proof has the wrong number of elements for the given index and sizes. */
  'proof-length',
  /** The new size is smaller than the old size (or the subtree ends after the tree). */
  'size-order',
  /** A consistency proof from the empty tree was asked for; it proves nothing. */
  'empty-old-tree',
  /** The proof must be empty here (equal sizes) but is not. */
  'proof-not-empty',
  /** The proof must not be empty here but is. */
  'proof-empty',
  /** The subtree [start, end) is not a subtree of the Merkle tree. */
  'subtree-invalid',
  /** An empty subtree's root is not the empty-tree hash. */
  'empty-subtree-root',
  /** The proof does not reproduce the old (or subtree) root. */
  'old-root-mismatch',
  /** The proof does not reproduce the expected root. */
  'root-mismatch',
] as const;

export type ProofCheck = (typeof PROOF_CHECKS)[number];

function fail(check: ProofCheck, message: string): never {
  throw new CareLedgerError('ERR_LOG_PROOF_INVALID', message, { details: { check } });
}

function checkSize(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0)
    fail('invalid-size', `${what} is not a non-negative safe integer`);
}

function checkProofHashes(proof: readonly Uint8Array[]): void {
  for (const h of proof) {
    if (h.length !== HASH_SIZE) fail('proof-hash-length', 'proof element is not a 32-byte hash');
  }
}

// RFC 9162 §2.1.3.2, expressed as in transparency-dev/merkle: the proof splits where the paths to
// `index` and `size - 1` diverge into "inner" siblings (either side) and "border" siblings (left only).
function innerProofSize(index: number, size: number): number {
  return bitLength(xor(index, size - 1));
}

function decomposeInclusionProof(index: number, size: number): [inner: number, border: number] {
  const inner = innerProofSize(index, size);
  return [inner, onesCount(shiftRight(index, inner))];
}

function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let acc = seed;
  proof.forEach((h, i) => {
    acc = bitAt(index, i) === 0 ? hashChildren(acc, h) : hashChildren(h, acc);
  });
  return acc;
}

/** Like chainInner, but only left siblings count: yields the hash of an earlier version of the subtree. */
function chainInnerRight(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let acc = seed;
  proof.forEach((h, i) => {
    if (bitAt(index, i) === 1) acc = hashChildren(h, acc);
  });
  return acc;
}

function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let acc = seed;
  for (const h of proof) acc = hashChildren(h, acc);
  return acc;
}

/**
 * RFC 9162 §2.1.3.2: the root a tree of `size` leaves must have if `proof` is an inclusion proof for
 * `leafHash` at `index`. Throws `ERR_LOG_PROOF_INVALID` if the proof cannot be one.
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array {
  checkSize(index, 'index');
  checkSize(size, 'size');
  if (index >= size) fail('index-out-of-range', 'leaf index is not below the tree size');
  if (leafHash.length !== HASH_SIZE) fail('leaf-hash-length', 'leaf hash is not 32 bytes');
  checkProofHashes(proof);
  const [inner, border] = decomposeInclusionProof(index, size);
  if (proof.length !== inner + border)
    fail('proof-length', `inclusion proof must have ${inner + border} hashes`);
  const res = chainInner(leafHash, proof.slice(0, inner), index);
  return chainBorderRight(res, proof.slice(inner));
}

/** RFC 9162 §2.1.3.2: returns nothing or throws `ERR_LOG_PROOF_INVALID`. */
export function verifyInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const calculated = rootFromInclusionProof(leafHash, index, size, proof);
  if (!bytesEqual(calculated, root)) fail('root-mismatch', 'inclusion proof does not lead to the root');
}

/**
 * Whether [start, end) is a subtree in the sense of draft-ietf-plants-merkle-tree-certs §4.1: start is a
 * multiple of the smallest power of two not below end - start. Never throws.
 */
export function isValidSubtree(start: number, end: number): boolean {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end) return false;
  if (start === 0 || start === end) return true;
  return start % bitCeil(end - start) === 0;
}

/** Subtree inclusion proof (draft-ietf-plants-merkle-tree-certs §4.3): RFC 9162 inclusion, shifted. */
export function verifySubtreeInclusionProof(
  leafHash: Uint8Array,
  index: number,
  start: number,
  end: number,
  proof: readonly Uint8Array[],
  subtreeRoot: Uint8Array,
): void {
  checkSize(index, 'index');
  checkSize(start, 'start');
  checkSize(end, 'end');
  if (!isValidSubtree(start, end)) fail('subtree-invalid', 'range is not a Merkle subtree');
  if (index < start || index >= end) fail('index-out-of-range', 'leaf index is outside the subtree');
  const calculated = rootFromInclusionProof(leafHash, index - start, end - start, proof);
  if (!bytesEqual(calculated, subtreeRoot))
    fail('root-mismatch', 'inclusion proof does not lead to the root');
}

/**
 * RFC 9162 §2.1.4.2: the root of the tree of `newSize` leaves implied by the proof and the old root.
 * Like transparency-dev/merkle, a proof from the empty tree is rejected: it would prove nothing.
 */
export function rootFromConsistencyProof(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
): Uint8Array {
  checkSize(oldSize, 'old size');
  checkSize(newSize, 'new size');
  if (newSize < oldSize) fail('size-order', 'new tree size is smaller than old tree size');
  if (oldSize === 0) fail('empty-old-tree', 'consistency proof from the empty tree is meaningless');
  if (oldSize === newSize) {
    if (proof.length > 0) fail('proof-not-empty', 'sizes are equal but the proof is not empty');
    return oldRoot;
  }
  if (proof.length === 0) fail('proof-empty', 'consistency proof is empty');
  checkProofHashes(proof);
  return rootFromSubtreeProof(0, oldSize, newSize, proof, oldRoot);
}

/** RFC 9162 §2.1.4.2: returns nothing or throws `ERR_LOG_PROOF_INVALID`. */
export function verifyConsistencyProof(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): void {
  const calculated = rootFromConsistencyProof(oldSize, newSize, proof, oldRoot);
  if (!bytesEqual(calculated, newRoot))
    fail('root-mismatch', 'consistency proof does not lead to the new root');
}

/**
 * Subtree consistency proof (draft-ietf-plants-merkle-tree-certs §4.4): proves that the subtree
 * [start, end) with root `subtreeRoot` is part of the tree of `size` leaves with root `root`.
 */
export function verifySubtreeConsistencyProof(
  start: number,
  end: number,
  size: number,
  proof: readonly Uint8Array[],
  subtreeRoot: Uint8Array,
  root: Uint8Array,
): void {
  checkSize(start, 'start');
  checkSize(end, 'end');
  checkSize(size, 'size');
  if (start === end) {
    if (end > size) fail('size-order', 'subtree ends after the tree');
    if (proof.length > 0) fail('proof-not-empty', 'empty subtree but the proof is not empty');
    if (!bytesEqual(subtreeRoot, emptyRoot())) fail('empty-subtree-root', 'empty subtree root is not empty');
    return;
  }
  if (!isValidSubtree(start, end)) fail('subtree-invalid', 'range is not a Merkle subtree');
  if (size < end) fail('size-order', 'subtree ends after the tree');
  let calculated: Uint8Array;
  if (start === 0 && end === size) {
    if (proof.length > 0) fail('proof-not-empty', 'subtree is the whole tree but the proof is not empty');
    calculated = subtreeRoot;
  } else {
    if (proof.length === 0) fail('proof-empty', 'consistency proof is empty');
    checkProofHashes(proof);
    calculated = rootFromSubtreeProof(start, end, size, proof, subtreeRoot);
  }
  if (!bytesEqual(calculated, root)) fail('root-mismatch', 'consistency proof does not lead to the root');
}

// Port of transparency-dev/merkle rootFromSubtreeConsistencyProof: requires a valid non-empty subtree,
// end <= size, a non-empty proof, and not (start == 0 && end == size).
function rootFromSubtreeProof(
  start: number,
  end: number,
  size: number,
  proof: readonly Uint8Array[],
  subRoot: Uint8Array,
): Uint8Array {
  if (end === size) {
    // The subtree's root node lies on the right border: one left sibling per level where it is a right child.
    const level = bitLength(xor(end - 1, start));
    const want = onesCount(shiftRight(start, level));
    if (proof.length !== want) fail('proof-length', `consistency proof must have ${want} hashes`);
    return chainBorderRight(subRoot, proof);
  }
  const [forkLevel, border] = decomposeInclusionProof(end - 1, size);
  // Height of the rightmost perfect subtree inside [start, end): the proof starts at this level.
  const shift = trailingZeros(end - start);
  const inner = forkLevel - shift;
  // A perfect subtree's root is known to the verifier, so it is not repeated in the proof.
  const perfect = end - start === 2 ** shift;
  const pStart = perfect ? 0 : 1;
  if (proof.length !== pStart + inner + border) {
    fail('proof-length', `consistency proof must have ${pStart + inner + border} hashes`);
  }
  const seed = perfect ? subRoot : (proof[0] as Uint8Array);
  const rest = proof.slice(pStart);
  const mask = shiftRight(end - 1, shift);
  if (!perfect) {
    const [subInner, subBorder] = decomposeSubtreeProof(start, end, size, border, rest);
    const hash1 = chainBorderRight(chainInnerRight(seed, subInner, mask), subBorder);
    if (!bytesEqual(hash1, subRoot))
      fail('old-root-mismatch', 'consistency proof does not lead to the old root');
  }
  return chainBorderRight(chainInner(seed, rest.slice(0, inner), mask), rest.slice(inner));
}

function decomposeSubtreeProof(
  start: number,
  end: number,
  size: number,
  border: number,
  proof: readonly Uint8Array[],
): [inner: Uint8Array[], border: Uint8Array[]] {
  const h = bitLength(xor(end - 1, start));
  const forkLevel = bitLength(xor(end - 1, size - 1));
  const shift = trailingZeros(end - start);
  const subInner = Math.min(h, forkLevel) - shift;
  const inner = forkLevel - shift;
  const subBorder = Math.max(0, border - onesCount(shiftRight(end - 1, h)));
  return [proof.slice(0, subInner), proof.slice(inner, inner + subBorder)];
}
