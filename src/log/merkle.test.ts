import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { bitLength, onesCount, trailingZeros, xor } from './bits.js';
import { CompactRange } from './compact-range.js';
import {
  createConsistencyProof,
  createInclusionProof,
  createMemoryHashReader,
  createSubtreeConsistencyProof,
  createSubtreeInclusionProof,
  type HashReader,
  rootAt,
  subtreeHash,
} from './create-proof.js';
import { emptyRoot, hashChildren, hashLeaf } from './merkle-hash.js';
import {
  isValidSubtree,
  rootFromInclusionProof,
  verifyConsistencyProof,
  verifyInclusionProof,
  verifySubtreeConsistencyProof,
  verifySubtreeInclusionProof,
} from './verify-proof.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const entry = (i: number): Uint8Array => new TextEncoder().encode(`entry-${i}`);
const leaves = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => hashLeaf(entry(i)));

// RFC 9162 §2.1.1, written directly from the recursion: MTH({}) = HASH(); MTH({d0}) = HASH(0x00||d0);
// MTH(D[n]) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n])) with k the largest power of two < n.
function referenceRoot(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return emptyRoot();
  if (hashes.length === 1) return hashes[0] as Uint8Array;
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return hashChildren(referenceRoot(hashes.slice(0, k)), referenceRoot(hashes.slice(k)));
}

// RFC 9162 §2.1.3.1 PATH(m, D[n]).
function referencePath(m: number, hashes: readonly Uint8Array[]): Uint8Array[] {
  if (hashes.length <= 1) return [];
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return m < k
    ? [...referencePath(m, hashes.slice(0, k)), referenceRoot(hashes.slice(k))]
    : [...referencePath(m - k, hashes.slice(k)), referenceRoot(hashes.slice(0, k))];
}

// RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b).
function referenceSubproof(m: number, hashes: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = hashes.length;
  if (m === n) return b ? [] : [referenceRoot(hashes)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k
    ? [...referenceSubproof(m, hashes.slice(0, k), b), referenceRoot(hashes.slice(k))]
    : [...referenceSubproof(m - k, hashes.slice(k), false), referenceRoot(hashes.slice(0, k))];
}

/** Counts node reads, and serves perfect nodes from a precomputed table like a tile store would. */
function countingReader(hashes: readonly Uint8Array[]): HashReader & { reads: number } {
  const nodes = new Map<string, Uint8Array>();
  for (let level = 1; 2 ** level <= hashes.length; level++) {
    for (let i = 0; (i + 1) * 2 ** level <= hashes.length; i++) {
      nodes.set(`${level}/${i}`, referenceRoot(hashes.slice(i * 2 ** level, (i + 1) * 2 ** level)));
    }
  }
  const reader = {
    size: hashes.length,
    reads: 0,
    getLeafHash(i: number) {
      reader.reads++;
      return hashes[i] as Uint8Array;
    },
    getNodeHash(level: number, i: number) {
      reader.reads++;
      return nodes.get(`${level}/${i}`);
    },
  };
  return reader;
}

function flipByte(proof: Uint8Array[], which: number, byte: number, mask: number): Uint8Array[] {
  return proof.map((h, i) => {
    if (i !== which) return h;
    const copy = h.slice();
    copy[byte] = (copy[byte] ?? 0) ^ mask;
    return copy;
  });
}

function checkOf(fn: () => void): unknown {
  try {
    fn();
  } catch (e) {
    if (e instanceof CareLedgerError) return `${e.code}:${String(e.details.check ?? e.details.reason)}`;
    throw e;
  }
  return 'ok';
}

const ALL = leaves(300);
const sizeArb = fc.integer({ min: 1, max: 300 });
const reader = createMemoryHashReader(ALL);

describe('hashes (RFC 9162 §2.1.1)', () => {
  test('empty root is SHA-256 of the empty string', () => {
    expect(hex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
  test('leaf and node hashes are domain separated', () => {
    // Known values from transparency-dev/merkle rfc6962_test.go.
    expect(hex(hashLeaf(new Uint8Array()))).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    expect(hex(hashLeaf(new TextEncoder().encode('L123456')))).toBe(
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    const l = new TextEncoder().encode('N123');
    const r = new TextEncoder().encode('N456');
    expect(hex(hashChildren(l, r))).toBe('aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb');
  });
});

describe('bit helpers above 2^32', () => {
  test('agree with BigInt', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (a, b) => {
        const A = BigInt(a);
        const B = BigInt(b);
        expect(BigInt(xor(a, b))).toBe(A ^ B);
        expect(bitLength(a)).toBe(A.toString(2).replace(/^0+/, '').length);
        expect(onesCount(a)).toBe([...A.toString(2)].filter((c) => c === '1').length);
        if (a > 0) expect(trailingZeros(a)).toBe(A.toString(2).length - 1 - A.toString(2).lastIndexOf('1'));
      }),
    );
  });
});

describe('roots', () => {
  test('CompactRange, rootAt and the RFC recursion agree at every size up to 300', () => {
    const range = CompactRange.empty();
    expect(hex(range.root())).toBe(hex(emptyRoot()));
    expect(hex(rootAt(reader, 0))).toBe(hex(emptyRoot()));
    for (let n = 1; n <= 300; n++) {
      range.append(ALL[n - 1] as Uint8Array);
      const want = hex(referenceRoot(ALL.slice(0, n)));
      expect(hex(range.root())).toBe(want);
      expect(hex(rootAt(reader, n))).toBe(want);
      expect(range.hashes().length).toBe(onesCount(n));
    }
  });

  test('CompactRange survives a save and restore', () => {
    fc.assert(
      fc.property(sizeArb, fc.integer({ min: 0, max: 50 }), (n, more) => {
        const a = CompactRange.empty();
        for (const h of ALL.slice(0, n)) a.append(h);
        const b = CompactRange.from(a.size, a.hashes());
        for (const h of leaves(n + more).slice(n)) {
          a.append(h);
          b.append(h);
        }
        expect(hex(b.root())).toBe(hex(a.root()));
      }),
    );
  });

  test('CompactRange.from rejects a shape that does not match the size', () => {
    expect(checkOf(() => CompactRange.from(3, [ALL[0] as Uint8Array]))).toBe(
      'ERR_INVALID_INPUT:compact-range-shape',
    );
  });

  test('rootAt beyond the tree is rejected', () => {
    expect(checkOf(() => rootAt(reader, 301))).toBe('ERR_INVALID_INPUT:size-beyond-tree');
  });
});

describe('inclusion proofs (RFC 9162 §2.1.3)', () => {
  test('match PATH(m, D[n]) and verify, for random sizes up to 300', () => {
    fc.assert(
      fc.property(
        sizeArb.chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1))),
        ([n, m]) => {
          const proof = createInclusionProof(reader, m, n);
          expect(proof.map(hex)).toEqual(referencePath(m, ALL.slice(0, n)).map(hex));
          const root = referenceRoot(ALL.slice(0, n));
          verifyInclusionProof(ALL[m] as Uint8Array, m, n, proof, root);
          expect(hex(rootFromInclusionProof(ALL[m] as Uint8Array, m, n, proof))).toBe(hex(root));
        },
      ),
    );
  });

  test('flipping any bit of any proof hash fails with root-mismatch', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1))),
        fc.nat(),
        fc.nat(31),
        fc.integer({ min: 0, max: 7 }),
        ([n, m], which, byte, bit) => {
          const proof = createInclusionProof(reader, m, n);
          const bad = flipByte(proof, which % proof.length, byte, 1 << bit);
          const root = rootAt(reader, n);
          expect(checkOf(() => verifyInclusionProof(ALL[m] as Uint8Array, m, n, bad, root))).toBe(
            'ERR_LOG_PROOF_INVALID:root-mismatch',
          );
        },
      ),
    );
  });

  test('truncated, extended, wrong index and wrong size proofs fail', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1))),
        ([n, m]) => {
          const proof = createInclusionProof(reader, m, n);
          const root = rootAt(reader, n);
          const leaf = ALL[m] as Uint8Array;
          expect(checkOf(() => verifyInclusionProof(leaf, m, n, proof.slice(1), root))).not.toBe('ok');
          expect(checkOf(() => verifyInclusionProof(leaf, m, n, [...proof, root], root))).not.toBe('ok');
          expect(checkOf(() => verifyInclusionProof(leaf, (m + 1) % n, n, proof, root))).not.toBe('ok');
          // The hashes do not commit to the size (the signed checkpoint does): n -> n + 1 can still verify
          // when the path has the same shape, so test a size whose path shape always differs.
          expect(checkOf(() => verifyInclusionProof(leaf, m, 2 * n, proof, root))).not.toBe('ok');
          expect(checkOf(() => verifyInclusionProof(leaf, n, n, proof, root))).toBe(
            'ERR_LOG_PROOF_INVALID:index-out-of-range',
          );
        },
      ),
    );
  });

  test('closed check names for malformed input', () => {
    const leaf = ALL[0] as Uint8Array;
    const root = rootAt(reader, 4);
    const proof = createInclusionProof(reader, 0, 4);
    expect(checkOf(() => verifyInclusionProof(leaf.slice(1), 0, 4, proof, root))).toBe(
      'ERR_LOG_PROOF_INVALID:leaf-hash-length',
    );
    expect(checkOf(() => verifyInclusionProof(leaf, 0, 4, [proof[0] as Uint8Array], root))).toBe(
      'ERR_LOG_PROOF_INVALID:proof-length',
    );
    expect(
      checkOf(() => verifyInclusionProof(leaf, 0, 4, [proof[0] as Uint8Array, new Uint8Array(31)], root)),
    ).toBe('ERR_LOG_PROOF_INVALID:proof-hash-length');
    expect(checkOf(() => verifyInclusionProof(leaf, -1, 4, proof, root))).toBe(
      'ERR_LOG_PROOF_INVALID:invalid-size',
    );
    expect(checkOf(() => verifyInclusionProof(leaf, 0, 2 ** 53, proof, root))).toBe(
      'ERR_LOG_PROOF_INVALID:invalid-size',
    );
    expect(checkOf(() => createInclusionProof(reader, 4, 4))).toBe('ERR_INVALID_INPUT:index-out-of-range');
  });

  test('proof generation reads O(log n) nodes when the reader serves node hashes', () => {
    const big = leaves(1000);
    for (const [m, n] of [
      [0, 1000],
      [999, 1000],
      [517, 999],
    ] as const) {
      const r = countingReader(big);
      createInclusionProof(r, m, n);
      expect(r.reads).toBeLessThanOrEqual(2 * bitLength(n) + 2);
    }
  });
});

describe('consistency proofs (RFC 9162 §2.1.4)', () => {
  const pairArb = sizeArb.chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n)));

  test('match SUBPROOF(m, D[n], true) and verify, for random sizes up to 300', () => {
    fc.assert(
      fc.property(pairArb, ([m, n]) => {
        const proof = createConsistencyProof(reader, m, n);
        const want = m === n ? [] : referenceSubproof(m, ALL.slice(0, n), true);
        expect(proof.map(hex)).toEqual(want.map(hex));
        verifyConsistencyProof(m, n, proof, referenceRoot(ALL.slice(0, m)), referenceRoot(ALL.slice(0, n)));
      }),
    );
  });

  test('flipping any bit of any proof hash fails', () => {
    fc.assert(
      fc.property(
        pairArb.filter(([m, n]) => m < n),
        fc.nat(),
        fc.nat(31),
        fc.integer({ min: 0, max: 7 }),
        ([m, n], which, byte, bit) => {
          const proof = createConsistencyProof(reader, m, n);
          const bad = flipByte(proof, which % proof.length, byte, 1 << bit);
          const check = checkOf(() =>
            verifyConsistencyProof(m, n, bad, rootAt(reader, m), rootAt(reader, n)),
          );
          expect([
            'ERR_LOG_PROOF_INVALID:root-mismatch',
            'ERR_LOG_PROOF_INVALID:old-root-mismatch',
          ]).toContain(check);
        },
      ),
    );
  });

  test('wrong roots, sizes and lengths fail', () => {
    fc.assert(
      fc.property(
        pairArb.filter(([m, n]) => m < n),
        ([m, n]) => {
          const proof = createConsistencyProof(reader, m, n);
          const r1 = rootAt(reader, m);
          const r2 = rootAt(reader, n);
          expect(checkOf(() => verifyConsistencyProof(m, n, proof, r2, r2))).not.toBe('ok');
          expect(checkOf(() => verifyConsistencyProof(m, n, proof, r1, r1))).not.toBe('ok');
          expect(checkOf(() => verifyConsistencyProof(m, n, proof.slice(1), r1, r2))).not.toBe('ok');
          expect(checkOf(() => verifyConsistencyProof(m, n, [...proof, r1], r1, r2))).not.toBe('ok');
          expect(checkOf(() => verifyConsistencyProof(m, 2 * n, proof, r1, r2))).not.toBe('ok');
          expect(checkOf(() => verifyConsistencyProof(n, m, proof, r2, r1))).toBe(
            'ERR_LOG_PROOF_INVALID:size-order',
          );
        },
      ),
    );
  });

  test('closed check names for degenerate sizes', () => {
    const r = rootAt(reader, 5);
    expect(checkOf(() => verifyConsistencyProof(0, 5, [], emptyRoot(), r))).toBe(
      'ERR_LOG_PROOF_INVALID:empty-old-tree',
    );
    expect(checkOf(() => verifyConsistencyProof(5, 5, [r], r, r))).toBe(
      'ERR_LOG_PROOF_INVALID:proof-not-empty',
    );
    expect(checkOf(() => verifyConsistencyProof(3, 5, [], r, r))).toBe('ERR_LOG_PROOF_INVALID:proof-empty');
    expect(checkOf(() => verifyConsistencyProof(5, 5, [], r, rootAt(reader, 4)))).toBe(
      'ERR_LOG_PROOF_INVALID:root-mismatch',
    );
    expect(checkOf(() => createConsistencyProof(reader, 0, 5))).toBe('ERR_INVALID_INPUT:empty-old-tree');
  });
});

describe('subtree proofs (draft-ietf-plants-merkle-tree-certs)', () => {
  const subtreeArb = fc
    .integer({ min: 1, max: 200 })
    .chain((size) => fc.tuple(fc.nat(size), fc.nat(size), fc.constant(size)))
    .map(([a, b, size]) => [Math.min(a, b), Math.max(a, b), size] as const)
    .filter(([start, end]) => isValidSubtree(start, end));

  test('subtree hashes are the MTH of the range', () => {
    fc.assert(
      fc.property(subtreeArb, ([start, end]) => {
        expect(hex(subtreeHash(reader, start, end))).toBe(hex(referenceRoot(ALL.slice(start, end))));
      }),
    );
  });

  test('generated subtree inclusion and consistency proofs verify', () => {
    fc.assert(
      fc.property(
        subtreeArb.filter(([s, e]) => s < e),
        fc.nat(),
        ([start, end, size], pick) => {
          const index = start + (pick % (end - start));
          const sub = subtreeHash(reader, start, end);
          verifySubtreeInclusionProof(
            ALL[index] as Uint8Array,
            index,
            start,
            end,
            createSubtreeInclusionProof(reader, index, start, end),
            sub,
          );
          const proof = createSubtreeConsistencyProof(reader, start, end, size);
          verifySubtreeConsistencyProof(start, end, size, proof, sub, rootAt(reader, size));
          if (proof.length > 0) {
            const bad = flipByte(proof, pick % proof.length, pick % 32, 1);
            expect(
              checkOf(() => verifySubtreeConsistencyProof(start, end, size, bad, sub, rootAt(reader, size))),
            ).not.toBe('ok');
          }
        },
      ),
    );
  });

  test('exhaustively for trees up to 40 leaves', () => {
    for (let size = 1; size <= 40; size++) {
      const root = rootAt(reader, size);
      for (let end = 1; end <= size; end++) {
        for (let start = 0; start < end; start++) {
          if (!isValidSubtree(start, end)) continue;
          const proof = createSubtreeConsistencyProof(reader, start, end, size);
          verifySubtreeConsistencyProof(start, end, size, proof, subtreeHash(reader, start, end), root);
        }
      }
    }
  });

  test('invalid subtrees are rejected', () => {
    expect(isValidSubtree(2, 6)).toBe(false);
    expect(isValidSubtree(4, 6)).toBe(true);
    expect(checkOf(() => createSubtreeConsistencyProof(reader, 2, 6, 8))).toBe(
      'ERR_INVALID_INPUT:subtree-invalid',
    );
  });
});
