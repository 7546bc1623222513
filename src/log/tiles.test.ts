import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { reasonOf } from '../../test/support/reason-of.js';
import { CompactRange } from './compact-range.js';
import { createInclusionProof, createMemoryHashReader, rootAt } from './create-proof.js';
import { hashLeaf } from './merkle-hash.js';
import {
  createTileHashReader,
  encodeEntryBundle,
  encodeTile,
  formatTilePath,
  parseEntryBundle,
  parseTilePath,
  rootAtFromTiles,
  rootFromTiles,
  type TileCoordinate,
  tilesForSize,
  verifyEntryBundle,
} from './tiles.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Builds every tile of a tree, as a log would store them (c2sp.org/tlog-tiles "Merkle Tree"). */
function buildTiles(leafHashes: readonly Uint8Array[]): Map<string, Uint8Array> {
  const tiles = new Map<string, Uint8Array>();
  let level = 0;
  let hashes = leafHashes;
  while (hashes.length > 0) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < hashes.length; i += 256) {
      const chunk = hashes.slice(i, i + 256);
      tiles.set(formatTilePath(level, i / 256, chunk.length), encodeTile(chunk));
      if (chunk.length === 256) {
        const r = CompactRange.empty();
        for (const h of chunk) r.append(h);
        up.push(r.root());
      }
    }
    hashes = up;
    level++;
  }
  return tiles;
}

const source = (tiles: Map<string, Uint8Array>) => (t: TileCoordinate) =>
  tiles.get(formatTilePath(t.level, t.index, t.width));

describe('tile paths', () => {
  test.each([
    [0, 0, 256, 'tile/0/000'],
    [1, 1234067, 256, 'tile/1/x001/x234/067'],
    [0, 1000, 12, 'tile/0/x001/000.p/12'],
    ['entries', 5, 255, 'tile/entries/005.p/255'],
    [63, 999, 256, 'tile/63/999'],
  ] as const)('formats (%s, %s, %s) as %s and parses it back', (level, index, width, path) => {
    expect(formatTilePath(level, index, width)).toBe(path);
    expect(parseTilePath(path)).toEqual({ level, index, width });
  });

  test('round-trips random coordinates', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0, max: 63 }), fc.constant('entries' as const)),
        fc.maxSafeNat(),
        fc.integer({ min: 1, max: 256 }),
        (level, index, width) => {
          expect(parseTilePath(formatTilePath(level, index, width))).toEqual({ level, index, width });
        },
      ),
    );
  });

  test.each([
    'tile/0/1',
    'tile/0/0001',
    'tile/00/000',
    'tile/64/000',
    'tile/0/001/234',
    'tile/0/x000/001',
    'tile/0/x001/x234',
    'tile/0/000.p/256',
    'tile/0/000.p/0',
    'tile/0/000.p/012',
    'tile/0/000.p/',
    '/tile/0/000',
    'tile/0/000 ',
    'tile/entry/000',
  ])('rejects %s', (path) => {
    expect(reasonOf(() => parseTilePath(path))).toMatch(/^ERR_LOG_TILE_INVALID:/);
  });
});

describe('tiles covering a tree', () => {
  test('the spec example: a tree of size 70,000', () => {
    const tiles = tilesForSize(70_000);
    const at = (level: number) => tiles.filter((t) => t.level === level);
    expect(at(0).filter((t) => t.width === 256)).toHaveLength(273);
    expect(at(0).at(-1)).toEqual({ level: 0, index: 273, width: 112 });
    expect(at(1)).toEqual([
      { level: 1, index: 0, width: 256 },
      { level: 1, index: 1, width: 17 },
    ]);
    expect(at(2)).toEqual([{ level: 2, index: 0, width: 1 }]);
  });

  test('a tree of size 256 is one full tile and a level 1 tile of width 1', () => {
    expect(tilesForSize(256)).toEqual([
      { level: 0, index: 0, width: 256 },
      { level: 1, index: 0, width: 1 },
    ]);
  });

  const leaves = Array.from({ length: 70_000 }, (_, i) => hashLeaf(new TextEncoder().encode(`e${i}`)));
  const tiles = buildTiles(leaves);
  const memory = createMemoryHashReader(leaves);

  test('the auditor recomputes the root from full tiles', () => {
    for (const size of [0, 1, 255, 256, 257, 65_536, 70_000]) {
      const sub = buildTiles(leaves.slice(0, size));
      expect(hex(rootFromTiles(size, source(sub)))).toBe(hex(rootAt(memory, size)));
    }
  });

  test('a tile-backed HashReader gives the same roots and proofs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70_000 }), fc.nat(), (size, pick) => {
        const sub = size === 70_000 ? tiles : buildTiles(leaves.slice(0, size));
        const reader = createTileHashReader(size, source(sub));
        expect(hex(rootAtFromTiles(size, source(sub)))).toBe(hex(rootAt(memory, size)));
        const index = pick % size;
        expect(createInclusionProof(reader, index, size).map(hex)).toEqual(
          createInclusionProof(memory, index, size).map(hex),
        );
      }),
      { numRuns: 15 },
    );
  });

  test('a tampered upper tile or a missing tile is detected', () => {
    const bad = new Map(tiles);
    const upper = bad.get('tile/1/000') as Uint8Array;
    const copy = upper.slice();
    copy[100] = (copy[100] ?? 0) ^ 1;
    bad.set('tile/1/000', copy);
    expect(reasonOf(() => rootFromTiles(70_000, source(bad)))).toBe(
      'ERR_LOG_TILE_INVALID:tile-hash-mismatch',
    );
    bad.delete('tile/0/x273.p/112'.replace('x273', '273'));
    expect(reasonOf(() => rootFromTiles(70_000, source(bad)))).toBe('ERR_LOG_TILE_INVALID:missing-tile');
    const short = new Map(tiles);
    short.set('tile/0/000', new Uint8Array(31));
    expect(reasonOf(() => rootFromTiles(70_000, source(short)))).toBe('ERR_LOG_TILE_INVALID:tile-length');
  });
});

describe('entry bundles', () => {
  test('round-trip and match the level 0 tile', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 256 }),
        (entries) => {
          const bundle = encodeEntryBundle(entries);
          expect(parseEntryBundle(bundle).map(hex)).toEqual(entries.map(hex));
          verifyEntryBundle(bundle, encodeTile(entries.map(hashLeaf)), entries.length);
        },
      ),
      { numRuns: 30 },
    );
  });

  test('encoding is big-endian uint16 length prefixes', () => {
    expect(
      hex(encodeEntryBundle([Uint8Array.of(0x61), new Uint8Array(0), new Uint8Array(0x102)]).subarray(0, 7)),
    ).toBe('00016100000102');
  });

  test('rejects truncation, oversize entries and width mismatches', () => {
    const bundle = encodeEntryBundle([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
    for (let cut = 1; cut < bundle.length; cut++) {
      if (cut === 5) continue; // a clean boundary: one whole entry
      expect(reasonOf(() => parseEntryBundle(bundle.subarray(0, cut)))).toBe(
        'ERR_LOG_TILE_INVALID:truncated',
      );
    }
    expect(reasonOf(() => parseEntryBundle(bundle.subarray(0, 5), 2))).toBe('ERR_LOG_TILE_INVALID:width');
    expect(reasonOf(() => encodeEntryBundle([new Uint8Array(65_536)]))).toBe(
      'ERR_LOG_TILE_INVALID:entry-too-large',
    );
    const tile = encodeTile([hashLeaf(Uint8Array.of(1, 2, 3)), hashLeaf(Uint8Array.of(5))]);
    expect(reasonOf(() => verifyEntryBundle(bundle, tile, 2))).toBe('ERR_LOG_TILE_INVALID:entry-mismatch');
  });
});
