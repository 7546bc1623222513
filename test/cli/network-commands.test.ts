/**
 * The operator commands of issue 17 as a user meets them: the real `careledger` entry in a child
 * process, its files, its help and its one-line usage errors (exit 64).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQbftExtraData } from '../../src/network/index.js';
import { cliNodeArgs } from '../support/cli-entry.js';

const work = mkdtempSync(join(tmpdir(), 'careledger-network-cli-'));
const { CARELEDGER_CHAIN_RPC_URL: _rpc, CARELEDGER_CHAIN_KEY_FILE: _key, ...environment } = process.env;

function careledger(...args: string[]) {
  const result = spawnSync(process.execPath, [...cliNodeArgs(), ...args], {
    encoding: 'utf8',
    env: { ...environment, CARELEDGER_DATA_DIR: work },
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('careledger network, chain deploy, node init|doctor, member', () => {
  it('network keygen, then network init from the public keys: a genesis naming those validators', () => {
    const keys = ['org-a', 'org-b', 'org-c', 'org-d'].map((name) => {
      const made = careledger('network', 'keygen', '--out', join(work, 'hosts', name));
      expect(made.code, made.stderr).toBe(0);
      expect(statSync(join(work, 'hosts', name, 'key')).mode & 0o777).toBe(0o600);
      return { name, ...(JSON.parse(made.stdout) as { address: string; publicKey: string }) };
    });
    const listFile = join(work, 'public-keys.json');
    writeFileSync(listFile, JSON.stringify(keys.map(({ name, publicKey }) => ({ name, publicKey }))));
    const init = careledger(
      'network',
      'init',
      '--out',
      join(work, 'net'),
      '--public-keys',
      listFile,
      '--chain-id',
      '4242',
      '--hosts',
      '10.20.1.11,10.20.2.11,10.20.3.11,10.20.4.11',
      '--accounts',
      '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    );
    expect(init.code, init.stderr).toBe(0);
    const genesis = JSON.parse(readFileSync(join(work, 'net', 'genesis.json'), 'utf8')) as {
      extraData: Hex;
      config: { chainId: number };
    };
    expect(genesis.config.chainId).toBe(4242);
    expect(parseQbftExtraData(genesis.extraData).validators).toEqual(keys.map((k) => k.address));
    expect(readFileSync(join(work, 'net', 'org-c', 'static-nodes.json'), 'utf8')).toContain(
      `enode://${keys[2]?.publicKey.slice(2)}@10.20.3.11:30303`,
    );
    const inspected = careledger('network', 'inspect', join(work, 'net', 'genesis.json'));
    expect(inspected.code, inspected.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(work, 'net', 'network.json'), 'utf8')) as {
      genesisSha256: string;
    };
    expect(JSON.parse(inspected.stdout)).toMatchObject({
      sha256: summary.genesisSha256,
      chainId: 4242,
      validators: keys.map((k) => k.address),
    });
  }, 180_000);

  it('network init --validators 4 writes the keys 0600 and says to move them', () => {
    const init = careledger('network', 'init', '--validators', '4', '--out', join(work, 'staging'));
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('account permissioning is OFF');
    expect(statSync(join(work, 'staging', 'validator-4', 'key')).mode & 0o777).toBe(0o600);
  });

  it.each([
    [
      ['network', 'init', '--out', join(work, 'x'), '--validators', '2', '--public-keys', 'k.json'],
      /not both/,
    ],
    [
      ['network', 'init', '--out', join(work, 'y'), '--validators', 'four'],
      /--validators must be a positive integer/,
    ],
    [['chain', 'deploy', '--out', join(work, 'd.json')], /add --rpc <url>/],
    [
      ['chain', 'deploy', '--out', join(work, 'd.json'), '--rpc', 'http://127.0.0.1:1', '--key-file', 'k'],
      /give --genesis <file>, or --member/,
    ],
    [['node', 'init', '--dir', join(work, 'n')], /required option/],
    [['node', 'doctor'], /required option '--dir <dir>'/],
    [['node', 'start', '--dir', work, '--tls-cert', 'c.pem'], /--tls-cert and --tls-key together/],
    [['member', 'vote', 'abc', '--dir', work], /not a proposal id/],
    [['member', 'propose', '--candidate', 'm.json'], /no such file|add --dir/],
    [['member', 'propose', '--dir', work], /--candidate <member.json> or --remove <account>/],
    [['member', 'propose', '--dir', work, '--remove', '0x12'], /not an account address/],
  ])('usage error, one line, exit 64: %s', (args, message) => {
    const result = careledger(...(args as string[]));
    expect(result.code, result.stderr).toBe(64);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message as RegExp);
  });

  it('lists the commands in --help', () => {
    for (const [args, words] of [
      [
        ['network', '--help'],
        ['init', 'keygen'],
      ],
      [
        ['chain', '--help'],
        ['deploy', 'status'],
      ],
      [
        ['node', '--help'],
        ['init', 'doctor', 'start'],
      ],
      [
        ['member', '--help'],
        ['propose', 'vote'],
      ],
    ] as const) {
      const help = careledger(...args);
      expect(help.code).toBe(0);
      for (const word of words) expect(help.stdout).toContain(word);
    }
  }, 180_000);
});
