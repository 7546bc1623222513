/**
 * Reads a node's transparency-log history straight from its SQLite file (read-only), for crash
 * tests: every checkpoint the log ever signed and every leaf hash, so each signed checkpoint can be
 * recomputed, not only the one the node serves now.
 */
import Database from 'better-sqlite3';
import {
  createMemoryHashReader,
  parseCheckpoint,
  parseSignedNote,
  parseVerifierKey,
  rootAt,
  verifyNote,
} from '../../src/log/index.js';

export interface SignedCheckpointRow {
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly note: string;
  readonly createdAt: number;
}

export interface LogHistory {
  readonly checkpoints: readonly SignedCheckpointRow[];
  /** Sizes signed with more than one distinct root (must be empty). */
  readonly conflictingSizes: readonly number[];
  readonly leafHashes: readonly Uint8Array[];
}

export function loadLogHistory(dbPath: string): LogHistory {
  // Read-only, beside a running node: WAL lets this reader see the last committed state.
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const conflictingSizes = (
      db
        .prepare(
          `SELECT size FROM log_checkpoints GROUP BY size
           HAVING COUNT(DISTINCT root_hash) > 1 OR COUNT(*) > 1 ORDER BY size`,
        )
        .all() as { size: number }[]
    ).map((r) => r.size);
    const checkpoints = (
      db
        .prepare('SELECT size, root_hash, note, created_at FROM log_checkpoints ORDER BY created_at, size')
        .all() as {
        size: number;
        root_hash: Buffer;
        note: string;
        created_at: number;
      }[]
    ).map((r) => ({
      size: r.size,
      rootHash: new Uint8Array(r.root_hash),
      note: r.note,
      createdAt: r.created_at,
    }));
    const leafHashes = (
      db.prepare('SELECT idx, leaf_hash FROM log_leaves ORDER BY idx').all() as {
        idx: number;
        leaf_hash: Buffer;
      }[]
    ).map((r, i) => {
      if (r.idx !== i) throw new Error(`log_leaves has a gap at ${i} (next idx ${r.idx})`);
      return new Uint8Array(r.leaf_hash);
    });
    return { checkpoints, conflictingSizes, leafHashes };
  } finally {
    db.close();
  }
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/**
 * Problems with the signed history: a checkpoint whose signature does not verify under the log key,
 * whose note disagrees with its row, whose root is not RFC 9162 §2.1.1 MTH of the stored leaves at
 * its size, or whose size is not larger than that of every checkpoint signed before it.
 */
export function findCheckpointProblems(history: LogHistory, origin: string, verifierKey: string): string[] {
  const problems: string[] = [];
  const verifier = parseVerifierKey(verifierKey);
  const reader = createMemoryHashReader(history.leafHashes);
  let previous = -1;
  for (const row of history.checkpoints) {
    if (row.size <= previous) problems.push(`size ${row.size} signed after size ${previous}`);
    previous = Math.max(previous, row.size);
    try {
      const note = parseSignedNote(new TextEncoder().encode(row.note));
      verifyNote(note, [verifier]);
      const checkpoint = parseCheckpoint(note.text);
      if (
        checkpoint.origin !== origin ||
        checkpoint.size !== row.size ||
        !equal(checkpoint.rootHash, row.rootHash)
      )
        problems.push(`size ${row.size}: the signed note does not match its row`);
    } catch (error) {
      problems.push(`size ${row.size}: ${(error as Error).message}`);
      continue;
    }
    if (row.size > reader.size) problems.push(`size ${row.size}: beyond the ${reader.size} stored leaves`);
    else if (!equal(rootAt(reader, row.size), row.rootHash))
      problems.push(`size ${row.size}: the root is not that of the stored leaves`);
  }
  return problems;
}
