import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor } from '../cli/exit-codes.js';
import { createStatusBitstring, encodeStatusList, setStatusBit } from './bitstring-status-list.js';
import { registerCredentialCommands } from './credential-commands.js';
import { buildLicenseCredential, practitionerDid, V2_0360_SYSTEM } from './practitioner-credential.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-credential-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BOARD = 'https://board.example.gov/ma';
const KID = `${BOARD}#key-1`;
const REVOCATIONS = `${BOARD}/status/revocation`;
const SUSPENSIONS = `${BOARD}/status/suspension`;
const ALICE = practitionerDid(1, '0x70997970C51812dc3A010C7d01b50e0d17dc79C8');

function write(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

async function run(args: string[]): Promise<{ out: string; exit: number }> {
  let out = '';
  const program = new Command().exitOverride();
  registerCredentialCommands(program, { stdout: { write: (t: string) => (out += t) } });
  try {
    await program.parseAsync(['node', 'careledger', ...args]);
    return { out, exit: 0 };
  } catch (error) {
    return { out, exit: exitCodeFor(error) };
  }
}

describe('careledger credential issue|verify', () => {
  it('issues from files and verifies, then refuses once the licence is suspended', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const keyFile = write('board.jwk', await exportJWK(privateKey));
    const issuers = write('issuers.json', { [BOARD]: [{ ...(await exportJWK(publicKey)), kid: KID }] });
    const credentialFile = write(
      'licence.json',
      buildLicenseCredential({
        issuer: BOARD,
        validFrom: new Date('2026-01-01T00:00:00Z'),
        validUntil: new Date('2028-01-01T00:00:00Z'),
        subject: {
          id: ALICE,
          licenseNumber: 'MD-1',
          jurisdiction: 'US-MA',
          qualification: { system: V2_0360_SYSTEM, code: 'MD' },
        },
        status: { index: 7, revocationList: REVOCATIONS, suspensionList: SUSPENSIONS },
      }),
    );
    const issued = await run(['credential', 'issue', credentialFile, '--key', keyFile, '--kid', KID]);
    expect(issued.exit).toBe(0);
    const jwtFile = write('licence.jwt', issued.out);

    const suspension = createStatusBitstring();
    const statusLists = (suspended: boolean) => {
      if (suspended) setStatusBit(suspension, 7);
      return write('lists.json', {
        [REVOCATIONS]: {
          statusPurpose: 'revocation',
          encodedList: encodeStatusList(createStatusBitstring()),
        },
        [SUSPENSIONS]: { statusPurpose: 'suspension', encodedList: encodeStatusList(suspension) },
      });
    };
    const verify = (extra: string[] = []) =>
      run([
        'credential',
        'verify',
        jwtFile,
        '--issuers',
        issuers,
        '--status-lists',
        statusLists(false),
        '--now',
        '2026-12-07T00:00:00Z',
        ...extra,
      ]);

    const ok = await verify(['--json', '--subject', ALICE]);
    expect(ok.exit).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({
      ok: true,
      issuer: BOARD,
      licenseNumber: 'MD-1',
      qualification: { code: 'MD' },
    });
    expect((await verify()).out).toMatch(/^OK MD licence MD-1 \(US-MA\)/);

    statusLists(true);
    const suspended = await run([
      'credential',
      'verify',
      jwtFile,
      '--issuers',
      issuers,
      '--status-lists',
      join(dir, 'lists.json'),
      '--json',
    ]);
    expect(suspended).toEqual({
      out: `${JSON.stringify({ ok: false, reason: 'suspended' })}\n`,
      exit: EXIT.noPerm,
    });

    const bob = practitionerDid(1, '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC');
    const wrong = await verify(['--json', '--subject', bob]);
    expect(wrong).toEqual({
      out: `${JSON.stringify({ ok: false, reason: 'wrong-subject' })}\n`,
      exit: EXIT.noPerm,
    });
    expect((await verify(['--now', '2030-01-01T00:00:00Z'])).exit).toBe(EXIT.noPerm);
    expect(
      (
        await run([
          'credential',
          'verify',
          write('junk.jwt', 'a.b.c'),
          '--issuers',
          issuers,
          '--status-lists',
          join(dir, 'lists.json'),
        ])
      ).exit,
    ).toBe(EXIT.dataErr);
  });
});
