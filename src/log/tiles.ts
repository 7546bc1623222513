import { CareLedgerError } from '../errors/index.js';
import { CompactRange } from './compact-range.js';
import { type HashReader, rootAt } from './create-proof.js';
import { bytesEqual, HASH_SIZE, hashChildren, hashLeaf } from './merkle-hash.js';

/** C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tiles are 2^8 = 256 hashes wide. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
/** Entry bundle entries are length-prefixed with a big-endian uint16. */
export const MAX_ENTRY_SIZE = 0xffff;

/** `level` is a tile level (0..63) or 'entries' for an entry bundle; `width` is 1..256. */
export interface TileCoordinate {
  readonly level: number | 'entries';
  readonly index: number;
  readonly width: number;
}

function fail(reason: string, message: string): never {
  throw new CareLedgerError('ERR_LOG_TILE_INVALID', message, { details: { reason } });
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 0)
    fail('index', 'tile index is not a non-negative safe integer');
}

// c2sp.org/tlog-tiles: N as zero-padded 3-digit path elements, all but the last prefixed with 'x'.
function encodeIndex(index: number): string {
  let digits = String(index);
  digits = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups = digits.match(/.{3}/g) ?? [];
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** `tile/<L>/<N>[.p/<W>]`, or `tile/entries/<N>[.p/<W>]` for level 'entries'. */
export function formatTilePath(level: number | 'entries', index: number, width: number = TILE_WIDTH): string {
  if (level !== 'entries' && (!Number.isInteger(level) || level < 0 || level > 63))
    fail('level', 'level not in 0..63');
  checkIndex(index);
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) fail('width', 'tile width not in 1..256');
  const suffix = width === TILE_WIDTH ? '' : `.p/${width}`;
  return `tile/${level}/${encodeIndex(index)}${suffix}`;
}

/** Strict inverse of formatTilePath: exactly one spelling is accepted for each tile. */
export function parseTilePath(path: string): TileCoordinate {
  const m = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(
    path,
  );
  if (m === null) fail('path', 'not a tile path');
  const [, levelText = '', indexText = '', widthText] = m;
  const level = levelText === 'entries' ? 'entries' : Number(levelText);
  if (level !== 'entries' && level > 63) fail('level', 'level not in 0..63');
  const digits = indexText.replaceAll('x', '').replaceAll('/', '');
  // A leading all-zero group is never produced by formatTilePath ("x000/001" would be "001").
  if (digits.length > 3 && digits.startsWith('000')) fail('path', 'tile index has a redundant leading group');
  const index = Number(digits);
  checkIndex(index);
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (widthText !== undefined && width >= TILE_WIDTH) fail('width', 'partial tile width not in 1..255');
  return Object.freeze({ level, index, width });
}

/** Number of hashes at tile level `level` in a tree of `size` leaves: floor(size / 256^level). */
function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/**
 * Every tile (full and partial) that makes up a tree of `size` leaves, lowest level first
 * (c2sp.org/tlog-tiles "Partial Tiles": level l holds floor(s / 256^l) hashes).
 */
export function tilesForSize(size: number): TileCoordinate[] {
  if (!Number.isSafeInteger(size) || size < 0) fail('size', 'tree size is not a non-negative safe integer');
  const tiles: TileCoordinate[] = [];
  for (let level = 0; hashesAtLevel(size, level) > 0; level++) {
    const count = hashesAtLevel(size, level);
    const full = Math.floor(count / TILE_WIDTH);
    for (let index = 0; index < full; index++) tiles.push({ level, index, width: TILE_WIDTH });
    if (count % TILE_WIDTH > 0) tiles.push({ level, index: full, width: count % TILE_WIDTH });
  }
  return tiles;
}

/** The tile holding hash number `n` at tile level `level` in a tree of `size` leaves. */
export function tileForHash(size: number, level: number, n: number): TileCoordinate {
  const count = hashesAtLevel(size, level);
  if (n >= count) fail('beyond-tree', 'hash is not in the tree');
  const index = Math.floor(n / TILE_WIDTH);
  const width = index < Math.floor(count / TILE_WIDTH) ? TILE_WIDTH : count % TILE_WIDTH;
  return { level, index, width };
}

/** Splits tile data into its 32-byte hashes, checking the length against the expected width. */
export function parseTile(data: Uint8Array, width: number = TILE_WIDTH): Uint8Array[] {
  if (data.length !== width * HASH_SIZE) fail('tile-length', 'tile data length does not match its width');
  return Array.from({ length: width }, (_, i) => data.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}

export function encodeTile(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length < 1 || hashes.length > TILE_WIDTH) fail('width', 'tile width not in 1..256');
  for (const h of hashes) if (h.length !== HASH_SIZE) fail('tile-length', 'tile hash is not 32 bytes');
  return new Uint8Array(Buffer.concat(hashes));
}

/** c2sp.org/tlog-tiles "Log entries": a sequence of big-endian uint16 length-prefixed entries. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length > TILE_WIDTH) fail('width', 'entry bundle holds at most 256 entries');
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    if (entry.length > MAX_ENTRY_SIZE) fail('entry-too-large', 'entry is larger than 65535 bytes');
    parts.push(Uint8Array.of(entry.length >> 8, entry.length & 0xff), entry);
  }
  return new Uint8Array(Buffer.concat(parts));
}

export function parseEntryBundle(data: Uint8Array, width?: number): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 2 > data.length) fail('truncated', 'entry bundle ends inside a length prefix');
    const length = ((data[offset] ?? 0) << 8) | (data[offset + 1] ?? 0);
    offset += 2;
    if (offset + length > data.length) fail('truncated', 'entry bundle ends inside an entry');
    entries.push(data.slice(offset, offset + length));
    offset += length;
  }
  if (entries.length > TILE_WIDTH) fail('width', 'entry bundle holds more than 256 entries');
  if (width !== undefined && entries.length !== width) fail('width', 'entry bundle width does not match');
  return entries;
}

/** Checks that an entry bundle hashes to the matching level-0 tile. */
export function verifyEntryBundle(bundle: Uint8Array, tile: Uint8Array, width: number = TILE_WIDTH): void {
  const entries = parseEntryBundle(bundle, width);
  const hashes = parseTile(tile, width);
  entries.forEach((entry, i) => {
    if (!bytesEqual(hashLeaf(entry), hashes[i] as Uint8Array))
      fail('entry-mismatch', 'entry does not match tile');
  });
}

/** Fetches the data of one tile; returns undefined if it is not available. */
export type TileSource = (tile: TileCoordinate) => Uint8Array | undefined;

/**
 * A HashReader for a tree of `size` leaves backed by tiles: a node at level L is hashed from at most
 * 2^(L mod 8) hashes of one tile at tile level floor(L / 8).
 */
export function createTileHashReader(size: number, readTile: TileSource): HashReader {
  const cache = new Map<string, Uint8Array[]>();
  const hashAt = (level: number, n: number): Uint8Array => {
    const tile = tileForHash(size, level, n);
    const key = `${tile.level}/${tile.index}/${tile.width}`;
    let hashes = cache.get(key);
    if (hashes === undefined) {
      const data = readTile(tile);
      if (data === undefined)
        fail('missing-tile', `tile ${formatTilePath(level, tile.index, tile.width)} is missing`);
      hashes = parseTile(data, tile.width);
      cache.set(key, hashes);
    }
    return hashes[n % TILE_WIDTH] as Uint8Array;
  };
  const node = (tileLevel: number, height: number, n: number): Uint8Array =>
    height === 0
      ? hashAt(tileLevel, n)
      : hashChildren(node(tileLevel, height - 1, 2 * n), node(tileLevel, height - 1, 2 * n + 1));
  return {
    size,
    getLeafHash: (index) => hashAt(0, index),
    getNodeHash: (level, index) => node(Math.floor(level / TILE_HEIGHT), level % TILE_HEIGHT, index),
  };
}

/**
 * Auditor's recomputation of the root of a tree of `size` leaves from its tiles: rebuilds the tree
 * from level-0 tiles alone, and checks that every hash in every higher tile is the root of the full
 * tile below it (c2sp.org/tlog-tiles "Merkle Tree"). Throws `ERR_LOG_TILE_INVALID` on any mismatch.
 */
export function rootFromTiles(size: number, readTile: TileSource): Uint8Array {
  const tiles = tilesForSize(size);
  const load = (tile: TileCoordinate): Uint8Array[] => {
    const data = readTile(tile);
    if (data === undefined)
      fail('missing-tile', `tile ${formatTilePath(tile.level, tile.index, tile.width)} is missing`);
    return parseTile(data, tile.width);
  };
  // Roots of full tiles, per level, computed from the level below (level 0 from the leaf hashes).
  let below: Uint8Array[] = [];
  const all = CompactRange.empty();
  for (let level = 0; hashesAtLevel(size, level) > 0; level++) {
    const roots: Uint8Array[] = [];
    for (const tile of tiles.filter((t) => t.level === level)) {
      const hashes = load(tile);
      if (level === 0) {
        for (const h of hashes) all.append(h);
      } else {
        hashes.forEach((h, i) => {
          const want = below[tile.index * TILE_WIDTH + i];
          if (want === undefined || !bytesEqual(h, want))
            fail('tile-hash-mismatch', 'tile hash is not its subtree root');
        });
      }
      if (tile.width === TILE_WIDTH) {
        const range = CompactRange.empty();
        for (const h of hashes) range.append(h);
        roots.push(range.root());
      }
    }
    below = roots;
  }
  return all.root();
}

/** Root at `size` using tiles as the hash source, reading O(log n) tiles. Does not audit the tiles. */
export function rootAtFromTiles(size: number, readTile: TileSource): Uint8Array {
  return rootAt(createTileHashReader(size, readTile), size);
}
