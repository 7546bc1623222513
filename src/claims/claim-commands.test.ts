import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClaimCommands } from './claim-commands.js';

const COMMITMENT = `0x${'ab'.repeat(32)}`;
let server: Server;
let url: string;
let dir: string;
const received: { path: string; authorization: string | undefined; body: unknown }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-claim-commands-'));
  writeFileSync(join(dir, 'admin.token'), 'operator-token\n');
  // A stand-in for the payer node's /admin/claims routes over real HTTP: it records what it was sent.
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk) => {
      text += chunk;
    });
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body: JSON.parse(text),
      });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"recorded":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<string> {
  let output = '';
  const program = new Command().exitOverride();
  registerClaimCommands(program, { write: (text: string) => (output += text) });
  await program.parseAsync(['node', 'careledger', ...args]);
  return output;
}

describe('careledger claims settle|resolve', () => {
  it("sends the operator's settlement and resolution to the payer's admin routes, amounts in cents", async () => {
    const operator = ['--url', `${url}/`, '--token-file', join(dir, 'admin.token')];
    expect(await run('claims', 'settle', COMMITMENT, '--amount', '12.50', ...operator)).toContain(
      'settlement of 12.50',
    );
    expect(
      await run(
        'claims',
        'resolve',
        COMMITMENT,
        '--resolution',
        'copay confirmed',
        '--amount-due',
        '0',
        ...operator,
      ),
    ).toContain('resolution of claim');
    expect(received).toEqual([
      {
        path: '/admin/claims/settlements',
        authorization: 'Bearer operator-token',
        body: { claimCommitment: COMMITMENT, amountCents: 1250 },
      },
      {
        path: '/admin/claims/dispute-resolutions',
        authorization: 'Bearer operator-token',
        body: { claimCommitment: COMMITMENT, resolution: 'copay confirmed', amountDueCents: 0 },
      },
    ]);
  });

  it('refuses an amount that is not a non-negative decimal with two places, sending nothing', async () => {
    const before = received.length;
    const operator = ['--url', url, '--token-file', join(dir, 'admin.token')];
    await expect(
      run('claims', 'settle', COMMITMENT, '--amount', '12.505', ...operator),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    await expect(
      run('claims', 'resolve', COMMITMENT, '--resolution', 'x', '--amount-due', '-3', ...operator),
    ).rejects.toMatchObject({ details: { reason: 'invalid-amount' } });
    expect(received.length).toBe(before);
  });
});
