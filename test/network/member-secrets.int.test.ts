/**
 * Decision 0033: a member's hosts must hold the same secrets. Host A starts first on the member's
 * PostgreSQL database and records a fingerprint of each; a host started from a folder that lacks one
 * (or holds another) refuses to start with exit 78 (EX_CONFIG) and a message naming the file, and
 * leaves behind none of the secrets it would have created. Before, such a host made its own silently.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CareLedgerError } from '../../src/errors/index.js';
import { diagnoseNode } from '../../src/network/node-doctor.js';
import { startNode } from '../../src/node/start-node.js';
import { cliNodeArgs } from '../support/cli-entry.js';
import { prepareSoloNode, type SoloNodeFolder } from '../support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

let server: TestPostgres;
let folder: SoloNodeFolder;
let url: string;

/** Another host's copy of the member folder (its own node.db, as every host has). */
function hostCopy(name: string, change: (dir: string) => void = () => undefined): string {
  const dir = join(folder.dir, name);
  cpSync(folder.nodeDir, dir, { recursive: true, filter: (source) => !/node\.db(-wal|-shm)?$/.test(source) });
  change(dir);
  return dir;
}

/**
 * `careledger node start --dir <dir> --workers 2` as a process of its own: its exit code and what it
 * printed. Two whole processes on PostgreSQL (decision 0022), whose primary checks the secrets before it
 * forks them: forked first, they raced on the missing file and one could leave it behind.
 */
function runNodeStart(dir: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [...cliNodeArgs(), 'node', 'start', '--dir', dir, '--workers', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CARELEDGER_DATABASE_URL: url },
  });
  const output: string[] = [];
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    output.push(chunk.toString());
    // A host that should have been refused but is serving: stop it so the test fails, not hangs.
    if (chunk.toString().includes('listening on')) child.kill('SIGTERM');
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output: output.join('') })));
}

beforeAll(async () => {
  server = await startTestPostgres();
  url = await server.createDatabase('member_secrets');
  folder = await prepareSoloNode();
  // Host A: the member's first start records the fingerprints.
  const hostA = await startNode(folder.nodeDir, { log: () => undefined, port: 0, databaseUrl: url });
  await hostA.close();
}, 300_000);

afterAll(async () => {
  await folder?.chain.stop();
  rmSync(folder?.dir ?? '/nonexistent', { recursive: true, force: true });
  await server?.close();
});

describe('secrets of one member on two hosts', () => {
  test("the first host's start recorded a fingerprint of each shared secret, never the secret", async () => {
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    try {
      const rows = (
        await sql.query<{ name: string; fingerprint: string }>(
          'SELECT name, fingerprint FROM node_secret_fingerprints ORDER BY name',
        )
      ).rows;
      expect(rows.map((r) => r.name)).toEqual(
        expect.arrayContaining([
          'admin-token',
          'ledger-key',
          'log-signer-key',
          'research-pseudonym-secret',
          'supply-key',
          'token-signing-key',
          'vault-root-secret',
        ]),
      );
      for (const row of rows) expect(row.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await sql.end();
    }
  });

  test('a host whose folder lacks the supply key exits 78 naming the file, and creates none', async () => {
    const hostB = hostCopy('host-b', (dir) => rmSync(join(dir, 'supply.key')));
    const { code, output } = await runNodeStart(hostB);
    expect(code).toBe(78);
    expect(output).toContain(join(hostB, 'supply.key'));
    expect(output).toContain('missing on this host');
    expect(existsSync(join(hostB, 'supply.key'))).toBe(false);
  }, 120_000);

  test('node doctor names the missing and the differing file before a start would refuse', async () => {
    const hostF = hostCopy('host-f', (dir) => {
      rmSync(join(dir, 'supply.key'));
      writeFileSync(join(dir, 'admin.token'), 'another-token\n', { mode: 0o600 });
    });
    const secrets = (await diagnoseNode(hostF, { databaseUrl: url })).filter((c) => c.check === 'secrets');
    expect(secrets).toHaveLength(1);
    expect(secrets[0]?.status).toBe('fail');
    expect(secrets[0]?.message).toContain(`${join(hostF, 'supply.key')} is missing on this host`);
    expect(secrets[0]?.message).toContain(`${join(hostF, 'admin.token')} differs`);
    const whole = (await diagnoseNode(hostCopy('host-g'), { databaseUrl: url })).filter(
      (c) => c.check === 'secrets',
    );
    expect(whole[0]?.status).toBe('ok');
  }, 120_000);

  test('a host with another admin token is refused; a whole copy of the folder starts', async () => {
    const hostC = hostCopy('host-c', (dir) =>
      writeFileSync(join(dir, 'admin.token'), 'another-token\n', { mode: 0o600 }),
    );
    const refused = await startNode(hostC, { log: () => undefined, port: 0, databaseUrl: url }).then(
      async (node) => {
        await node.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(CareLedgerError);
    expect((refused as CareLedgerError).code).toBe('ERR_CONFIG');
    expect((refused as CareLedgerError).details).toMatchObject({ reason: 'secret-differs' });
    expect((refused as CareLedgerError).message).toContain(join(hostC, 'admin.token'));

    const hostD = hostCopy('host-d');
    const started = await startNode(hostD, { log: () => undefined, port: 0, databaseUrl: url });
    await started.close();
  }, 120_000);

  test('a host without the keystore (its own key-encryption key) is refused before it serves', async () => {
    const hostE = hostCopy('host-e', (dir) => rmSync(join(dir, 'keystore.json')));
    const refused = await startNode(hostE, { log: () => undefined, port: 0, databaseUrl: url }).then(
      async (node) => {
        await node.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect((refused as CareLedgerError).details).toMatchObject({ reason: 'secret-missing' });
    expect(existsSync(join(hostE, 'keystore.json'))).toBe(false);
  }, 120_000);
});
