import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  consortiumGenesisFromMembers,
  loadConsortiumGenesis,
  parseGenesisMember,
} from './consortium-genesis.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-genesis-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const member = (i: number) => ({
  account: `0x${String(i).repeat(40)}`,
  name: `Org ${i}`,
  role: 'provider',
  fhirBaseUrl: `https://org-${i}.example/fhir`,
  logOrigin: `org-${i}.example/log`,
  logVerifierKey: `org-${i}.example/log+abcd+key`,
  encryptionPublicKey: '0x',
});
const write = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
};

describe('consortium genesis (chain deploy input)', () => {
  it('reads member.json files and k, checksumming the accounts', () => {
    const files = [1, 2, 3, 4].map((i) => write(`m${i}.json`, member(i)));
    const genesis = consortiumGenesisFromMembers(files, 3);
    expect(genesis.threshold).toBe(3);
    expect(genesis.members.map((m) => m.name)).toEqual(['Org 1', 'Org 2', 'Org 3', 'Org 4']);
    expect(genesis.members[0]?.account).toBe('0x1111111111111111111111111111111111111111');
    expect(
      loadConsortiumGenesis(write('g.json', { threshold: 2, members: [member(1), member(2)] })).threshold,
    ).toBe(2);
  });

  it('refuses a k outside 1..n, duplicate accounts or origins, and malformed members', () => {
    const files = [1, 2].map((i) => write(`k${i}.json`, member(i)));
    expect(() => consortiumGenesisFromMembers(files, 3)).toThrow(/threshold must be 1 to 2/);
    expect(() => consortiumGenesisFromMembers(files, 0)).toThrow(/threshold/);
    expect(() =>
      loadConsortiumGenesis(write('dup.json', { threshold: 1, members: [member(1), member(1)] })),
    ).toThrow(/share/);
    expect(() => parseGenesisMember({ ...member(1), role: 'hospital' }, 'x')).toThrow(/role/);
    expect(() => parseGenesisMember({ ...member(1), account: '0x12' }, 'x')).toThrow(/account/);
    expect(() => parseGenesisMember({ ...member(1), logVerifierKey: '' }, 'x')).toThrow(/logVerifierKey/);
    expect(() => loadConsortiumGenesis(write('bad.json', { threshold: 1 }))).toThrow(/members is not a list/);
  });
});
