import { parseCheckpoint } from './checkpoint.js';
import { CompactRange } from './compact-range.js';
import { rootAt } from './create-proof.js';
import { logError } from './log-error.js';
import type { LogStorage, StoredCheckpoint, StoredNodeHash } from './log-storage.js';
import { bytesEqual, hashLeaf } from './merkle-hash.js';
import { type NoteSigner, verifierOf, verifyNote } from './signed-note.js';
import { TILE_WIDTH } from './tiles.js';
import { pushHash, type TileEdge } from './tree-edge.js';
import { withStoredHashes } from './with-stored-hashes.js';

const AUDIT_CHUNK = 16 * TILE_WIDTH;

/**
 * Start-up audit: every stored entry re-hashed against its stored leaf hash, every stored node hash
 * recomputed, and the root at the last checkpoint recomputed from the entries themselves. O(n).
 */
export async function verifyStoredTree(
  storage: LogStorage,
  size: number,
  last: StoredCheckpoint | undefined,
): Promise<void> {
  const range = CompactRange.empty();
  const edge: TileEdge = [];
  const completed: StoredNodeHash[] = [];
  const checkRoot = (): void => {
    if (last !== undefined && range.size === last.size && !bytesEqual(range.root(), last.rootHash)) {
      throw logError(
        'ERR_LOG_EQUIVOCATION',
        'checkpoint-root-mismatch',
        'stored entries do not match the last signed checkpoint',
        { checkpointSize: last.size },
      );
    }
  };
  checkRoot();
  for (let start = 0; start < size; start += AUDIT_CHUNK) {
    const end = Math.min(size, start + AUDIT_CHUNK);
    const entries = await storage.readEntries(start, end);
    const leafHashes = await storage.readLeafHashes(start, end);
    for (let i = 0; i < entries.length; i++) {
      const h = hashLeaf(entries[i] as Uint8Array);
      if (!bytesEqual(h, leafHashes[i] as Uint8Array)) {
        throw logError('ERR_STORAGE', 'leaf-hash-mismatch', 'a stored entry does not match its leaf hash', {
          index: start + i,
        });
      }
      range.append(h);
      pushHash(edge, 0, h, completed);
      checkRoot();
    }
  }
  const byLevel = new Map<number, Uint8Array[]>();
  for (const node of completed) {
    const row = byLevel.get(node.level) ?? [];
    row.push(node.hash);
    byLevel.set(node.level, row);
  }
  for (const [level, hashes] of byLevel) {
    for (let start = 0; start < hashes.length; start += AUDIT_CHUNK) {
      const end = Math.min(hashes.length, start + AUDIT_CHUNK);
      const stored = await storage.readNodeHashes(level, start, end);
      stored.forEach((h, i) => {
        if (!bytesEqual(h, hashes[start + i] as Uint8Array)) {
          throw logError(
            'ERR_STORAGE',
            'node-hash-mismatch',
            'a stored node hash does not match the entries',
            {
              level,
              index: start + i,
            },
          );
        }
      });
    }
  }
}

/**
 * Start-up check of the last checkpoint this log signed: its note carries our signature and says what
 * its row says, storage still holds every entry it covers, and the stored hashes give its root.
 * O(log n) reads.
 */
export async function verifyStoredCheckpoint(
  storage: LogStorage,
  size: number,
  last: StoredCheckpoint,
  signer: NoteSigner,
  origin: string,
): Promise<void> {
  const verifier = verifierOf(signer);
  let checkpoint: ReturnType<typeof parseCheckpoint>;
  try {
    const note = verifyNote(last.note, [verifier]);
    checkpoint = parseCheckpoint(note.text);
  } catch (cause) {
    throw logError(
      'ERR_STORAGE',
      'checkpoint-signature',
      'stored checkpoint is not signed by this log key',
      {},
      cause,
    );
  }
  if (
    checkpoint.size !== last.size ||
    !bytesEqual(checkpoint.rootHash, last.rootHash) ||
    checkpoint.origin !== origin
  ) {
    throw logError('ERR_STORAGE', 'checkpoint-record', 'stored checkpoint row does not match its note');
  }
  if (last.size > size) {
    throw logError('ERR_STORAGE', 'checkpoint-beyond-log', 'log storage lost entries it had checkpointed', {
      size,
      checkpointSize: last.size,
    });
  }
  const root = await withStoredHashes(storage, size, (reader) => rootAt(reader, last.size));
  if (!bytesEqual(root, last.rootHash)) {
    throw logError(
      'ERR_LOG_EQUIVOCATION',
      'checkpoint-root-mismatch',
      'stored tree does not match the last signed checkpoint',
      { checkpointSize: last.size },
    );
  }
}
