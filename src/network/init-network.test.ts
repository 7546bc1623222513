import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { afterEach, describe, expect, it } from 'vitest';
import { initNetwork, writeValidatorKey } from './init-network.js';
import { parseQbftExtraData } from './qbft-extra-data.js';
import { validatorKeyFromPrivate } from './validator-key.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-network-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const read = (dir: string, path: string) => readFileSync(join(dir, path), 'utf8');
const MEMBER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

describe('careledger network init', () => {
  it('writes a four-validator QBFT network whose genesis decodes to the generated keys', () => {
    const out = join(tempDir(), 'net');
    const result = initNetwork({
      out,
      chainId: 2026,
      validators: 4,
      accounts: [MEMBER],
      now: () => 1_767_225_600_000,
    });
    const genesis = JSON.parse(read(out, 'genesis.json')) as Record<string, unknown> & {
      config: Record<string, unknown> & { qbft: Record<string, number> };
      extraData: Hex;
      alloc: Record<string, unknown>;
    };
    expect(genesis.config.chainId).toBe(2026);
    expect(genesis.config.zeroBaseFee).toBe(true);
    expect(genesis.config.cancunTime).toBe(0);
    expect(genesis.config.qbft).toEqual({
      blockperiodseconds: 2,
      epochlength: 30000,
      requesttimeoutseconds: 4,
    });
    expect(genesis.timestamp).toBe('0x6955b900');
    expect(Object.keys(genesis.alloc)).toEqual([MEMBER.slice(2).toLowerCase()]);

    const keyAddresses = [1, 2, 3, 4].map((i) => {
      const path = join(out, `validator-${i}`, 'key');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      return validatorKeyFromPrivate(readFileSync(path, 'utf8').trim() as Hex).address;
    });
    expect(parseQbftExtraData(genesis.extraData).validators).toEqual(keyAddresses);
    expect(result.keyFiles).toHaveLength(4);

    // Every validator gets the same genesis, static nodes and permissioning, naming all four enodes.
    const pub = read(out, 'validator-2/key.pub').trim();
    for (let i = 1; i <= 4; i++) {
      expect(read(out, `validator-${i}/genesis.json`)).toBe(read(out, 'genesis.json'));
      const staticNodes = JSON.parse(read(out, `validator-${i}/static-nodes.json`)) as string[];
      expect(staticNodes).toHaveLength(4);
      expect(staticNodes[1]).toBe(`enode://${pub.slice(2)}@10.0.0.12:30303`);
      const permissions = read(out, `validator-${i}/permissions_config.toml`);
      expect(permissions).toContain(`"${staticNodes[3]}"`);
      expect(permissions).toContain(`accounts-allowlist=[\n  "${MEMBER}"\n]`);
    }
    const config = read(out, 'validator-3/config.toml');
    expect(config).toContain('min-gas-price=0');
    expect(config).toContain('p2p-host="10.0.0.13"');
    expect(config).toContain('permissions-accounts-config-file-enabled=true');
    expect(config).toContain('node-private-key-file="/etc/besu/key"');
    expect(read(out, 'validator-3/besu.service')).toContain(
      'ExecStart=/opt/besu/bin/besu --config-file=/etc/besu/config.toml',
    );
    expect(read(out, 'validator-3/docker-compose.yml')).toContain('./key:/etc/besu/key:ro');
    const summary = JSON.parse(read(out, 'network.json')) as { validators: { address: string }[] };
    expect(summary.validators.map((v) => v.address)).toEqual(keyAddresses);
  });

  it('builds the genesis from public keys only, so no one holds another organization’s key', () => {
    const dir = tempDir();
    const orgs = ['org-a', 'org-b', 'org-c', 'org-d'].map((name) => ({
      name,
      ...writeValidatorKey(join(dir, 'hosts', name)),
    }));
    const out = join(dir, 'net');
    const result = initNetwork({
      out,
      chainId: 4242,
      publicKeys: orgs.map((o) => ({ name: o.name, publicKey: o.publicKey })),
      hosts: ['10.20.1.11', '10.20.2.11', '10.20.3.11', '10.20.4.11'],
    });
    expect(result.keyFiles).toEqual([]);
    const genesis = JSON.parse(read(out, 'genesis.json')) as { extraData: Hex };
    expect(parseQbftExtraData(genesis.extraData).validators).toEqual(orgs.map((o) => o.address));
    expect(read(out, 'org-b/config.toml')).toContain('permissions-accounts-config-file-enabled=false');
    expect(() => statSync(join(out, 'org-a', 'key'))).toThrow();
    expect(statSync(join(dir, 'hosts', 'org-a', 'key')).mode & 0o777).toBe(0o600);
    expect(() => writeValidatorKey(join(dir, 'hosts', 'org-a'))).toThrow(/never overwrite/);
  });

  it('refuses bad input before writing anything', () => {
    const dir = tempDir();
    expect(() => initNetwork({ out: join(dir, 'a'), chainId: 0 })).toThrow(/chain id/);
    expect(() =>
      initNetwork({ out: join(dir, 'b'), chainId: 1, validators: 2, hosts: ['10.0.0.1'] }),
    ).toThrow(/2 validators but 1 hosts/);
    expect(() => initNetwork({ out: join(dir, 'c'), chainId: 1, hosts: ['besu-a', 'b', 'c', 'd'] })).toThrow(
      /not an IPv4/,
    );
    expect(() => initNetwork({ out: join(dir, 'd'), chainId: 1, accounts: ['0x12'] })).toThrow(
      /not an account/,
    );
    initNetwork({ out: join(dir, 'e'), chainId: 1, validators: 1 });
    expect(() => initNetwork({ out: join(dir, 'e'), chainId: 1, validators: 1 })).toThrow(/not empty/);
  });
});
