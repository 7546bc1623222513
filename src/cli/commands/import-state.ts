import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { CareLedgerError } from '../../errors/index.js';

/**
 * Which items of one input file were processed (loaded, or skipped as a type the node does not serve),
 * as sorted, disjoint, half-open index ranges. The first range's end is the highest contiguous index
 * done; later ranges hold what completed out of order (concurrency) or after a failure, so a resumed
 * import re-sends neither. Failures are not done: a re-run tries them again.
 */
export class DoneRanges {
  private readonly ranges: [number, number][];

  constructor(ranges: readonly (readonly [number, number])[] = []) {
    this.ranges = ranges.map(([a, b]) => [a, b]);
  }

  has(index: number): boolean {
    for (const [start, end] of this.ranges) {
      if (index < start) return false;
      if (index < end) return true;
    }
    return false;
  }

  add(index: number): void {
    const r = this.ranges;
    let i = 0;
    while (i < r.length && (r[i] as [number, number])[1] < index) i++;
    const at = r[i];
    if (at !== undefined && at[0] <= index && index < at[1]) return;
    if (at !== undefined && at[1] === index) {
      at[1] = index + 1;
      const next = r[i + 1];
      if (next !== undefined && next[0] === at[1]) {
        at[1] = next[1];
        r.splice(i + 1, 1);
      }
    } else if (at !== undefined && at[0] === index + 1) {
      at[0] = index;
    } else {
      r.splice(i, 0, [index, index + 1]);
    }
  }

  /** How many indices below `limit` are done. */
  countBelow(limit: number): number {
    let n = 0;
    for (const [start, end] of this.ranges) n += Math.max(0, Math.min(end, limit) - start);
    return n;
  }

  /** The number of leading indices done (the highest contiguous index done, plus one). */
  contiguous(): number {
    const first = this.ranges[0];
    return first !== undefined && first[0] === 0 ? first[1] : 0;
  }

  toJSON(): [number, number][] {
    return this.ranges.map(([a, b]) => [a, b]);
  }
}

/** One input file's progress, valid only for that node and that exact file (path, size, mtime). */
export interface ImportFileState {
  readonly node: string;
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Items in the file (bundle entries, non-blank NDJSON lines), so a re-run need not count again. */
  readonly count: number;
  readonly done: [number, number][];
}

export interface ImportState {
  readonly version: 1;
  readonly files: ImportFileState[];
}

/** Reads the state file; a missing file is an empty state, a corrupt one an ERR_CONFIG naming --restart. */
export function loadImportState(file: string): ImportState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, files: [] };
    throw new CareLedgerError('ERR_CONFIG', `cannot read the import state ${file}`, { cause });
  }
  try {
    const state = JSON.parse(text) as ImportState;
    if (state.version !== 1 || !Array.isArray(state.files)) throw new Error('unknown shape');
    return state;
  } catch (cause) {
    throw new CareLedgerError(
      'ERR_CONFIG',
      `the import state ${file} is corrupt; delete it or pass --restart`,
      { cause },
    );
  }
}

/**
 * Writes the state so that a crash at any instant leaves either the old or the new file: write a
 * temporary file, fsync it, rename it over the old one, fsync the folder (rename(2) is atomic, but
 * only durable once the directory entry is).
 */
export function saveImportState(file: string, state: ImportState): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(state)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  let dir: number | undefined;
  try {
    dir = openSync(dirname(file), 'r');
    fsyncSync(dir);
  } catch {
    // Some platforms cannot fsync a directory; the rename itself is still atomic.
  } finally {
    if (dir !== undefined) closeSync(dir);
  }
}
