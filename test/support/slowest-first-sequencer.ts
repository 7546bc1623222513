/**
 * The order `vitest run` starts test files in: the slowest first (longest-processing-time-first),
 * so the two workers finish together instead of one running a 3-minute file alone at the end.
 *
 * vitest's own order uses its results cache (node_modules/.vite), which a clean clone (CI) does not
 * have; it then falls back to file size, which says little (test/fhir/search/search-pipeline.test.ts
 * is short and runs for a minute). So a file's duration comes from the cache when it has one, else from
 * test/support/test-durations.json (seconds, from the last measured CI run; regenerate it with
 * `npx tsx test/support/update-test-durations.ts` after a full run). Files in neither run first: a new
 * file may be slow, and a short one first costs nothing. Failed files run first, as in vitest's order.
 * Only the order changes: every file still runs, in its own isolated worker.
 */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const DURATIONS_FILE = join(import.meta.dirname, 'test-durations.json');

function loadDurations(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(DURATIONS_FILE, 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

/** What the order is decided on, per file. */
export interface FileRank {
  /** The file failed in vitest's last run of it. */
  readonly failed: boolean;
  /** Seconds it last took, if known. */
  readonly seconds: number | undefined;
  /** Its size in bytes (vitest's tie-break for unknown files). */
  readonly size: number;
}

/** Failed first, then unknown ones (largest first), then the known ones, longest first. */
export function compareSlowestFirst(x: FileRank, y: FileRank): number {
  if (x.failed !== y.failed) return x.failed ? -1 : 1;
  if ((x.seconds === undefined) !== (y.seconds === undefined)) return x.seconds === undefined ? -1 : 1;
  if (x.seconds === undefined || y.seconds === undefined) return y.size - x.size;
  return y.seconds - x.seconds;
}

export default class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const recorded = loadDurations();
    const { cache } = this.ctx;
    const rank = (spec: TestSpecification): FileRank => {
      const path = relative(this.ctx.config.root, spec.moduleId).split('\\').join('/');
      const key = `${spec.project.name}:${path}`;
      const cached = cache.getFileTestResults(key);
      return {
        failed: cached?.failed === true,
        seconds: cached !== undefined ? cached.duration / 1000 : recorded[path],
        size: cache.getFileStats(key)?.size ?? 0,
      };
    };
    const ranks = new Map(files.map((spec) => [spec, rank(spec)]));
    return [...files].sort((a, b) => compareSlowestFirst(ranks.get(a) as FileRank, ranks.get(b) as FileRank));
  }
}
