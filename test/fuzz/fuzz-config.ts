/**
 * Shared knobs for the fuzz tests: a fixed seed by default (so CI is reproducible and a failure can be
 * replayed), `CARELEDGER_FUZZ_SEED` to explore elsewhere, `CARELEDGER_FUZZ_RUNS` to set every
 * property's run count (unset = the small CI size). The corpus files hold inputs replayed first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FUZZ_SEED = Number.parseInt(process.env.CARELEDGER_FUZZ_SEED ?? '20250601', 10);
const RUNS = Number.parseInt(process.env.CARELEDGER_FUZZ_RUNS ?? '', 10);

/** fast-check options for one property: `ciRuns` runs unless CARELEDGER_FUZZ_RUNS says otherwise. */
export function fuzzOptions(ciRuns: number) {
  return { seed: FUZZ_SEED, numRuns: Number.isSafeInteger(RUNS) && RUNS > 0 ? RUNS : ciRuns } as const;
}

export function loadCorpus<T>(name: string): T[] {
  const text = readFileSync(join(import.meta.dirname, 'corpus', name), 'utf8');
  return JSON.parse(text) as T[];
}
