/**
 * The command line as a user meets it: the real `careledger` entry in a child process, its help, its
 * exit codes (sysexits) and its messages.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliNodeArgs } from '../support/cli-entry.js';

const empty = mkdtempSync(join(tmpdir(), 'careledger-cli-'));

function careledger(...args: string[]) {
  const result = spawnSync(process.execPath, [...cliNodeArgs(), ...args], {
    encoding: 'utf8',
    env: { ...process.env, CARELEDGER_DATA_DIR: empty, CARELEDGER_CHAIN_RPC_URL: '' },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same, without blocking the event loop (for a command that talks to a server of the test's). */
function careledgerAsync(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliNodeArgs(), ...args], {
      env: { ...process.env, CARELEDGER_DATA_DIR: empty, CARELEDGER_CHAIN_RPC_URL: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('careledger', () => {
  it.each([
    [[]],
    [['dev']],
    [['node', 'start']],
    [['chain']],
    [['chain', 'status']],
    [['log', 'audit']],
    [['log', 'checkpoint']],
    [['proof', 'verify']],
  ])('has --help for %j and exits 0', (command) => {
    const { code, stdout } = careledger(...command, '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: careledger/);
  });

  it('exits 64 (usage) on an unknown command, naming it', () => {
    const { code, stderr } = careledger('frobnicate');
    expect(code).toBe(64);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });

  it('exits 78 (config) with a clear message when no consortium was deployed', () => {
    const { code, stderr } = careledger('chain', 'status', '--json');
    expect(code).toBe(78);
    expect(stderr).toMatch(
      /^careledger: no deployment record at .*deployment\.json; deploy the contracts first\n$/,
    );
  });

  it('leaves no data folder behind when the first `dev` start fails (the chain port is taken)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const dataDir = join(empty, 'first-start');
    try {
      const { code, stderr } = await careledgerAsync(
        '--data-dir',
        dataDir,
        'dev',
        '--chain-port',
        String(port),
      );
      expect(code, stderr).not.toBe(0);
      expect(existsSync(dataDir), stderr).toBe(false);
    } finally {
      taken.close();
    }
  }, 180_000);

  it('exits 64 when a required argument is missing, in one line with the usage', () => {
    const { code, stderr } = careledger('proof', 'verify', '--policy', 'policy.txt');
    expect(code).toBe(64);
    expect(stderr).toBe(
      "careledger proof verify: missing required argument 'file'; usage: careledger proof verify [options] <file>\n",
    );
  });

  it.each([
    [['import', 'bundle.json'], /^careledger: no demo data folder at .*: add --node <url> /],
    [['records', 'pull', 'p-1'], /^careledger: no demo data folder at .*: add --node <url> /],
    [['chain', 'status', '--bogus'], /^careledger chain status: unknown option '--bogus'; usage: /],
    [['chain', 'statu'], /^careledger chain: unknown command 'statu' \(Did you mean status\?\) /],
    [['patient', 'erase', 'p-1'], /^careledger: erasure cannot be undone: add --yes to confirm\n$/],
  ])('answers the usage error of %j with one line that says what to add, exit 64', (args, line) => {
    const { code, stdout, stderr } = careledger(...args);
    expect(code).toBe(64);
    expect(stdout).toBe('');
    expect(stderr.split('\n').filter(Boolean), stderr).toHaveLength(1);
    expect(stderr).toMatch(line);
  });
});
