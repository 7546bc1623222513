/**
 * `careledger research propose` as a user meets it: the real `careledger` entry in a child process,
 * its help naming --title and --summary, and a proposal without a protocol refused as a usage error
 * (exit 64, sysexits) before any network call; `protocolOfOptions` for each way to give one.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliNodeArgs } from '../../../test/support/cli-entry.js';
import { UsageError } from '../../cli/exit-codes.js';
import { protocolOfOptions } from './research-study-commands.js';
import { hashStudyProtocol } from './study-protocol.js';

const empty = mkdtempSync(join(tmpdir(), 'careledger-research-cli-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

function careledger(...args: string[]) {
  const result = spawnSync(process.execPath, [...cliNodeArgs(), ...args], {
    encoding: 'utf8',
    env: { ...process.env, CARELEDGER_DATA_DIR: empty, CARELEDGER_CHAIN_RPC_URL: '' },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('careledger research propose', () => {
  it('has --help naming --title and --summary, with an example, and exits 0', () => {
    const { code, stdout } = careledger('research', 'propose', '--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: careledger research propose/);
    expect(stdout).toContain('--title <text>');
    expect(stdout).toContain('--summary <text>');
    expect(stdout).toContain("$ careledger research propose --id diabetes-2026 --title 'Diabetes");
  });

  it('lists every research command under `careledger research --help`', () => {
    const { code, stdout } = careledger('research', '--help');
    expect(code).toBe(0);
    for (const name of [
      ...['list', 'show', 'propose', 'vote', 'open', 'close', 'join', 'leave', 'feasibility'],
      ...['release', 'export', 'verify'],
    ])
      expect(stdout).toMatch(new RegExp(`\\n  ${name}\\b`));
    expect(careledger('patient', 'credits', '--help').code).toBe(0);
    const release = careledger('research', 'release', '--help');
    expect(release.code).toBe(0);
    expect(release.stdout).toContain('$ careledger research release lakeside-diabetes-2026 --out release');
  });

  it('exits 64 (usage), saying what to add, when the proposal has no protocol or half of one', () => {
    const base = ['research', 'propose', '--id', 'x', '--categories', 'laboratory', '--types', 'Patient'];
    const none = careledger(...base);
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('give the protocol: --title and --summary');
    const half = careledger(...base, '--title', 'A study');
    expect(half.code).toBe(64);
    expect(half.stderr).toContain('needs both --title and --summary');
  });
});

describe('protocolOfOptions', () => {
  it('sends the document itself for --title and --summary; the node proposes its hash', () => {
    const given = protocolOfOptions({ title: ' Diabetes outcomes ', summary: 'What changes over years.' });
    expect(given).toEqual({ protocol: { title: 'Diabetes outcomes', summary: 'What changes over years.' } });
    expect(hashStudyProtocol((given as { protocol: { title: string; summary: string } }).protocol)).toMatch(
      /^0x[0-9a-f]{64}$/,
    );
  });

  it('hashes a protocol file given with --protocol', () => {
    const file = join(empty, 'protocol.txt');
    writeFileSync(file, 'protocol');
    expect(protocolOfOptions({ protocol: file })).toEqual({
      // SHA-256("protocol")
      protocolHash: '0x2ea88c7a30351b12a4dcfc06cdce2af6eab18416176466c2500cb6ef74f745bf',
    });
  });

  it('refuses both ways at once, and text that is not plain (a control character)', () => {
    expect(() => protocolOfOptions({ title: 'A', summary: 'B', protocol: 'f' })).toThrow(UsageError);
    expect(() => protocolOfOptions({ title: 'A\u0007', summary: 'B' })).toThrow(/plain text/);
  });
});
