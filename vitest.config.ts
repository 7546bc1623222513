import { defineConfig } from 'vitest/config';
import SlowestFirstSequencer from './test/support/slowest-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests start real anvil chains and SQLite files; two cores, so keep parallelism low.
    maxWorkers: 2,
    // Bundles the CLI once per run; tests spawn it instead of the sources through tsx (decision 0043).
    globalSetup: ['test/support/build-test-cli.ts'],
    // The slowest files first, so the two workers end together (test/support/slowest-first-sequencer.ts).
    sequence: { sequencer: SlowestFirstSequencer },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
