import { CompactRange } from './compact-range.js';
import { nodeHash } from './create-proof.js';
import type { LogStorage, StoredNodeHash } from './log-storage.js';
import { TILE_HEIGHT, TILE_WIDTH } from './tiles.js';
import { withStoredHashes } from './with-stored-hashes.js';

/**
 * Per tile level k, the hashes at tree level 8k of the incomplete group of 256 at the right edge: the
 * contents of the partial tile. A full group's root is a new stored node one tile level up.
 */
export type TileEdge = Uint8Array[][];

/**
 * The right edge of the durably stored tree, all an append needs: the compact range (RFC 9162 root of
 * the perfect subtrees) and the partial tiles with the stored node count per tile level.
 */
export interface TreeEdge {
  readonly range: CompactRange;
  readonly tiles: TileEdge;
  /** Stored node count per tile level k ≥ 1 (index = k). */
  readonly nodeCounts: readonly number[];
}

/**
 * Appends `hash` to tile level `level` of the edge. Completed nodes get their index from the caller's
 * running per-level counts (nodes complete in order).
 */
export function pushHash(edge: TileEdge, level: number, hash: Uint8Array, completed: StoredNodeHash[]): void {
  let row = edge[level];
  if (row === undefined) {
    row = [];
    edge[level] = row;
  }
  row.push(hash);
  if (row.length < TILE_WIDTH) return;
  const range = CompactRange.empty();
  for (const h of row) range.append(h);
  edge[level] = [];
  const root = range.root();
  completed.push({ level: (level + 1) * TILE_HEIGHT, index: -1, hash: root });
  pushHash(edge, level + 1, root, completed);
}

/** Rebuilds the edge of a stored tree of `size` entries from its stored hashes: O(log n) range reads. */
export async function loadTreeEdge(storage: LogStorage, size: number): Promise<TreeEdge> {
  // Rebuild the right edge of every tile level (the contents of the partial tiles).
  const tiles: TileEdge = [];
  const nodeCounts: number[] = [0];
  for (let k = 0; Math.floor(size / TILE_WIDTH ** k) > 0; k++) {
    const count = Math.floor(size / TILE_WIDTH ** k);
    if (k > 0) nodeCounts[k] = count;
    const start = count - (count % TILE_WIDTH);
    tiles[k] =
      k === 0
        ? await storage.readLeafHashes(start, count)
        : await storage.readNodeHashes(k * TILE_HEIGHT, start, count);
  }

  // The perfect subtrees of the tree, one per set bit of the size, from the stored hashes.
  const peaks = await withStoredHashes(storage, size, (reader) => {
    const hashes: Uint8Array[] = [];
    let start = 0;
    for (let level = Math.floor(Math.log2(Math.max(size, 1))); level >= 0; level--) {
      const span = 2 ** level;
      if (start + span <= size) {
        hashes.push(nodeHash(reader, level, start / span));
        start += span;
      }
    }
    return hashes;
  });
  return { range: CompactRange.from(size, peaks), tiles, nodeCounts };
}

/**
 * The edge after appending `leafHashes`, and the node hashes those leaves complete (with their
 * indices), to be stored with them. Pure: `edge` is left as it was, so a failed write changes nothing.
 */
export function extendTreeEdge(
  edge: TreeEdge,
  leafHashes: readonly Uint8Array[],
): { edge: TreeEdge; nodeHashes: StoredNodeHash[] } {
  const range = CompactRange.from(edge.range.size, edge.range.hashes());
  const tiles: TileEdge = edge.tiles.map((row) => row.slice());
  const completed: StoredNodeHash[] = [];
  for (const leafHash of leafHashes) {
    range.append(leafHash);
    pushHash(tiles, 0, leafHash, completed);
  }
  const nodeCounts = edge.nodeCounts.slice();
  const nodeHashes = completed.map((n) => {
    const k = n.level / TILE_HEIGHT;
    const index = nodeCounts[k] ?? 0;
    nodeCounts[k] = index + 1;
    return { level: n.level, index, hash: n.hash };
  });
  return { edge: { range, tiles, nodeCounts }, nodeHashes };
}
