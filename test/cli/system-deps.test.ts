/**
 * `npm test` names the system packages it needs and how to get them, in one line, before running
 * anything (`pretest`: scripts/install-system-deps.sh --check), and the portal's browser tests fail at
 * once with one line when chromium is missing, before they start a demo consortium.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const bin = mkdtempSync(join(tmpdir(), 'careledger-bin-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

describe('npm test prerequisites', () => {
  it('is checked by `pretest`', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.pretest).toBe('bash scripts/install-system-deps.sh --check');
  });

  it('names what is missing and the install script in one line, exit 1, installing nothing', () => {
    // A PATH with g++, make and python3 (stand-ins) but no chromium.
    for (const tool of ['g++', 'make', 'python3']) {
      writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n');
      chmodSync(join(bin, tool), 0o755);
    }
    const run = spawnSync('/bin/bash', [join(repo, 'scripts', 'install-system-deps.sh'), '--check'], {
      encoding: 'utf8',
      env: { PATH: bin },
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n').filter(Boolean), run.stderr).toHaveLength(1);
    expect(run.stderr).toMatch(
      /^npm test needs Debian packages missing here: chromium( \S+)*; install them with `bash scripts\/install-system-deps\.sh` \(as root\)\n$/,
    );
    expect(run.stderr).not.toMatch(/g\+\+|make|python3/);
  });

  it('installs only the build tools with --build-tools (.ci/run installs the rest beside `npm install`)', () => {
    // g++, make and python3 present (stand-ins), chromium and the rest missing, no apt-get.
    for (const tool of ['g++', 'make', 'python3']) {
      writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n');
      chmodSync(join(bin, tool), 0o755);
    }
    const run = spawnSync('/bin/bash', [join(repo, 'scripts', 'install-system-deps.sh'), '--build-tools'], {
      encoding: 'utf8',
      env: { PATH: bin },
    });
    expect(run.stderr, run.stderr).toBe('');
    expect(run.stdout).toBe('');
    expect(run.status).toBe(0);
  });

  it('fails a portal test file at once, in one line, when chromium is missing', () => {
    const probe = join(bin, 'import-harness.mts');
    writeFileSync(
      probe,
      `await import(${JSON.stringify(join(repo, 'test', 'portal', 'portal-harness.ts'))});\n`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', probe], {
      encoding: 'utf8',
      cwd: repo,
      env: { ...process.env, CHROMIUM_PATH: join(bin, 'no-chromium') },
      timeout: 60_000,
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      `the portal tests need Debian's chromium, and there is none at ${join(bin, 'no-chromium')}: run \`bash scripts/install-system-deps.sh\``,
    );
  });
});
