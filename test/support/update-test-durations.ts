/**
 * Rewrites test/support/test-durations.json (what test/support/slowest-first-sequencer.ts orders a
 * clean clone's run by) from vitest's results cache, after a full `npm test` in a clean clone:
 *
 *   npx tsx test/support/update-test-durations.ts [path/to/clone]
 *
 * The cache keeps each file's duration from the last run that ran it; run this after a full run, or
 * a partial run's files get their durations under a different load.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DURATIONS_FILE = join(import.meta.dirname, 'test-durations.json');
const clone = process.argv[2] ?? join(import.meta.dirname, '..', '..');
const cacheDir = join(clone, 'node_modules', '.vite', 'vitest');
const caches = existsSync(cacheDir)
  ? readdirSync(cacheDir)
      .map((hash) => join(cacheDir, hash, 'results.json'))
      .filter((file) => existsSync(file))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  : [];
const newest = caches[0];
if (newest === undefined) {
  process.stderr.write(`no vitest results cache under ${cacheDir}: run \`npm test\` there first\n`);
  process.exit(66);
}
const { results } = JSON.parse(readFileSync(newest, 'utf8')) as {
  results: [string, { duration?: number; failed?: boolean }][];
};
const durations: Record<string, number> = {};
for (const [key, result] of results.sort(([a], [b]) => (a < b ? -1 : 1))) {
  if (result.failed === true || result.duration === undefined) continue;
  durations[key.slice(key.indexOf(':') + 1)] = Math.round(result.duration / 100) / 10;
}
writeFileSync(DURATIONS_FILE, `${JSON.stringify(durations, null, 2)}\n`);
process.stdout.write(`${Object.keys(durations).length} files' durations written to ${DURATIONS_FILE}\n`);
