/**
 * `npx careledger`, the README's way to run the command, runs the built CLI that `npm install` linked
 * into node_modules/.bin, and never installs the project into npx's cache (which runs `prepare`: a
 * whole rebuild, 56 s, rewriting dist/ under a running demo). Checked on a copy of the project's
 * package.json, bin/ and link script, with a stand-in dist/ and an empty, offline npm cache: any
 * install or build fails there, so only the direct run passes.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '..', '..');
const project = mkdtempSync(join(tmpdir(), 'careledger-npx-'));

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('npx careledger', () => {
  it('is linked by `prepare` and runs the built CLI without installing or rebuilding', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
      bin?: unknown;
      scripts: Record<string, string>;
    };
    // A "bin" of the project's own makes npm 7+ npx install the project (and run prepare) first.
    expect(pkg.bin).toBeUndefined();
    expect(pkg.scripts.prepare).toMatch(/^node scripts\/link-bin\.js && /);

    for (const file of ['package.json', 'scripts/link-bin.js', 'bin/careledger.js']) {
      mkdirSync(join(project, file, '..'), { recursive: true });
      copyFileSync(join(repo, file), join(project, file));
    }
    mkdirSync(join(project, 'dist', 'cli'), { recursive: true });
    writeFileSync(
      join(project, 'dist', 'cli', 'main.js'),
      'process.stdout.write(["built cli:", ...process.argv.slice(2)].join(" ") + "\\n");\n',
    );
    const linked = spawnSync(process.execPath, ['scripts/link-bin.js'], { cwd: project, encoding: 'utf8' });
    expect(linked.status, linked.stderr).toBe(0);

    const env = {
      ...process.env,
      npm_config_cache: join(project, '.npm-cache'),
      npm_config_offline: 'true',
      npm_config_update_notifier: 'false',
    };
    const run = spawnSync('npx', ['careledger', '--version'], {
      cwd: project,
      encoding: 'utf8',
      env,
      timeout: 60_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toBe('built cli: --version\n');
  });
});
