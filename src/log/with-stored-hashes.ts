import type { HashReader } from './create-proof.js';
import { logError } from './log-error.js';
import type { LogStorage } from './log-storage.js';
import { HASH_SIZE } from './merkle-hash.js';
import { TILE_HEIGHT } from './tiles.js';

/** Nodes at levels that are multiples of the tile height are stored; the others are recomputed. */
function baseLevel(level: number): number {
  return level - (level % TILE_HEIGHT);
}

/**
 * Runs a pure proof computation over storage. HashReader is synchronous and storage is not, so `fn`
 * runs twice: first over placeholder hashes to record which stored hashes it reads (which depends only
 * on the tree shape, never on hash values), then, once those are fetched in one range read per run of
 * adjacent indices, over the real ones. A node at level L costs at most 2^(L mod 8) hashes of one stored
 * level, so a proof reads O(log n) ranges.
 */
export async function withStoredHashes<T>(
  storage: LogStorage,
  size: number,
  fn: (reader: HashReader) => T,
): Promise<T> {
  const wanted = new Map<number, Set<number>>();
  const want = (level: number, start: number, count: number): void => {
    let set = wanted.get(level);
    if (set === undefined) {
      set = new Set();
      wanted.set(level, set);
    }
    for (let i = start; i < start + count; i++) set.add(i);
  };
  const placeholder = new Uint8Array(HASH_SIZE);
  fn({
    size,
    getLeafHash: (index) => {
      want(0, index, 1);
      return placeholder;
    },
    getNodeHash: (level, index) => {
      const base = baseLevel(level);
      const span = 2 ** (level - base);
      want(base, index * span, span);
      return placeholder;
    },
  });
  const fetched = new Map<number, Map<number, Uint8Array>>();
  for (const [level, set] of wanted) {
    const indices = [...set].sort((a, b) => a - b);
    const hashes = new Map<number, Uint8Array>();
    fetched.set(level, hashes);
    for (let i = 0; i < indices.length; ) {
      const start = indices[i] as number;
      let end = start + 1;
      while (indices[i + end - start] === end) end++;
      const read =
        level === 0
          ? await storage.readLeafHashes(start, end)
          : await storage.readNodeHashes(level, start, end);
      for (const [j, h] of read.entries()) hashes.set(start + j, h);
      i += end - start;
    }
  }
  const stored = (level: number, index: number): Uint8Array => {
    const h = fetched.get(level)?.get(index);
    if (h === undefined) throw logError('ERR_STORAGE', 'missing', 'a stored hash was not fetched');
    return h;
  };
  return fn({
    size,
    getLeafHash: (index) => stored(0, index),
    // Returning undefined makes nodeHash recurse to the children, down to the stored level.
    getNodeHash: (level, index) => (level % TILE_HEIGHT === 0 ? stored(level, index) : undefined),
  });
}
