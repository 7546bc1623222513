/**
 * vitest globalSetup: bundles src/cli/main.ts once per run into node_modules/.cache (so the bundle's
 * package imports resolve from this checkout's node_modules) and names it in CARELEDGER_CLI_ENTRY,
 * which the test workers and every process they spawn inherit (test/support/cli-entry.ts says why).
 *
 * The bundle keeps the sources' behaviour: packages stay external (the same node_modules), and each
 * module's `import.meta.url` is its source file's URL, so paths it resolves relative to itself (the
 * demo's Synthea files, the vendored FHIR profiles, dist/portal/public, createRequire) are the ones
 * the sources resolve under tsx. src has no import cycles (src/access/import-layering.test.ts), so
 * the bundle evaluates modules in the same order as Node's loader.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { CLI_ENTRY_VARIABLE, CLI_SOURCE } from './cli-entry.js';

const repo = join(import.meta.dirname, '..', '..');

/** Replaces `import.meta.url` in each TypeScript source with that file's own URL. */
const sourceUrls: Plugin = {
  name: 'source-import-meta-url',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll(
        'import.meta.url',
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: 'ts',
    }));
  },
};

export async function bundleCli(outfile: string): Promise<void> {
  await build({
    entryPoints: [CLI_SOURCE],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    plugins: [sourceUrls],
  });
}

export default async function setup(project?: { onTestsRerun?(cb: () => Promise<void>): void }) {
  // A preset variable wins (CARELEDGER_CLI_ENTRY= with no value: the sources through tsx).
  if (process.env[CLI_ENTRY_VARIABLE] !== undefined) return;
  const cache = join(repo, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  // One folder per run: several runs in this work tree at once do not share (or delete) a bundle.
  const dir = mkdtempSync(join(cache, 'careledger-test-cli-'));
  const outfile = join(dir, 'main.js');
  await bundleCli(outfile);
  process.env[CLI_ENTRY_VARIABLE] = outfile;
  // Watch mode: the sources changed, so the bundle is built again before the files run again.
  project?.onTestsRerun?.(() => bundleCli(outfile));
  return () => {
    delete process.env[CLI_ENTRY_VARIABLE];
    rmSync(dir, { recursive: true, force: true });
  };
}
