import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { Command } from 'commander';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../errors/index.js';
import { createIpsDocument, signDocument } from '../../fhir/ips/index.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { registerSummaryCommands, runSummaryVerify } from './summary-verify.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-summary-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const member = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const patient: Patient = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Doe' }] };

async function summaryFile(name: string, tamper = false): Promise<string> {
  let n = 0;
  const document = createIpsDocument({
    patient,
    resources: [patient],
    author: { name: 'Solo Clinic', address: member.address },
    now: () => new Date('2024-05-06T07:08:09.000Z'),
    uuid: () => `00000000-0000-4000-8000-${(n++).toString(16).padStart(12, '0')}`,
  });
  const signed = await signDocument(document, member, { now: () => new Date('2024-05-06T07:08:10.000Z') });
  const path = join(dir, name);
  writeFileSync(path, tamper ? JSON.stringify(signed).replace('"Doe"', '"Roe"') : JSON.stringify(signed));
  return path;
}

function membersFile(addresses: string[]): string {
  const path = join(dir, `members-${addresses.length}.json`);
  writeFileSync(
    path,
    JSON.stringify({ members: addresses.map((address) => ({ name: 'x', address, status: 'active' })) }),
  );
  return path;
}

describe('careledger summary verify', () => {
  it('prints the signer of a genuine summary', async () => {
    const out: string[] = [];
    const file = await summaryFile('ok.json');
    const program = new Command().exitOverride();
    registerSummaryCommands(program, { stdout: { write: (t: string) => out.push(t) } });
    await program.parseAsync(['summary', 'verify', file, '--members', membersFile([member.address])], {
      from: 'user',
    });
    expect(out).toEqual([`OK signed by ${member.address} at 2024-05-06T07:08:10.000Z (an active member)\n`]);
  });

  it('refuses a tampered summary, another signer and a non-member, with exit status 65', async () => {
    const fail = async (options: Parameters<typeof runSummaryVerify>[0]) => {
      try {
        await runSummaryVerify(options, { write: () => undefined });
      } catch (error) {
        expect(error).toBeInstanceOf(CareLedgerError);
        return { reason: (error as CareLedgerError).details.reason, exit: exitCodeFor(error) };
      }
      throw new Error('expected a failure');
    };
    expect(await fail({ file: await summaryFile('tampered.json', true) })).toEqual({
      reason: 'bad-signature',
      exit: EXIT.dataErr,
    });
    const file = await summaryFile('genuine.json');
    expect(await fail({ file, signer: other.address })).toEqual({
      reason: 'signer-mismatch',
      exit: EXIT.dataErr,
    });
    expect(await fail({ file, membersFile: membersFile([other.address, patient.id ?? '']) })).toEqual({
      reason: 'not-member',
      exit: EXIT.dataErr,
    });
    const missing = await fail({ file: join(dir, 'absent.json') });
    expect(missing.exit).toBe(EXIT.noInput);
  });
});
