/**
 * A member's PostgreSQL on a host of its own in the test network (test/support/netns-network.ts),
 * as a member whose processes run on several machines has it (decision 0026): the server listens on
 * its host's address only, speaks TLS with a certificate from the test CA, and admits only TLS
 * connections from the test subnet that prove the role's password (SCRAM-SHA-256). Every other
 * connection (plain TCP, a wrong password) is refused by pg_hba. No Unix socket is reachable from the
 * member's hosts' processes except through the shared file system, which the URL does not name.
 *
 * initdb refuses to run as root: the cluster runs as the `postgres` system user through setpriv, like
 * test/support/test-postgres.ts.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { VirtualLan } from './netns-network.js';
import type { TestCa } from './netns-tls.js';
import { findPostgresBin } from './test-postgres.js';

const PORT = 5432;

export interface NetnsPostgres {
  /** postgres://careledger:<password>@<address>:5432/careledger?sslmode=verify-full&sslrootcert=<CA> */
  readonly url: string;
  readonly address: string;
  readonly password: string;
  /** The server's own stderr lines (last 200), for failure messages. */
  readonly lines: string[];
  /** Fast shutdown (SIGINT: clients are disconnected), waiting for the server to exit; deletes the cluster. */
  close(): Promise<void>;
}

function systemUser(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** initdb as `postgres`, then the server inside `host`'s namespace; resolves once it accepts connections. */
export async function startNetnsPostgres(lan: VirtualLan, host: string, ca: TestCa): Promise<NetnsPostgres> {
  const bin = findPostgresBin();
  const address = lan.hosts[host]?.address as string;
  const user = systemUser('postgres');
  const setpriv = (command: string, args: readonly string[]) => [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--clear-groups',
    '--reset-env',
    command,
    ...args,
  ];
  // Short path: the server's Unix socket (used by nobody here) is limited to 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'clnpg-'));
  chownSync(dir, user.uid, user.gid);
  try {
    return await startIn(dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  async function startIn(dir: string): Promise<NetnsPostgres> {
    const password = randomBytes(18).toString('base64url');
    const passwordFile = join(dir, 'pw');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    chownSync(passwordFile, user.uid, user.gid);
    const data = join(dir, 'data');
    execFileSync(
      'setpriv',
      setpriv(join(bin, 'initdb'), [
        '-D',
        data,
        '-U',
        'careledger',
        `--pwfile=${passwordFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
        '--no-instructions',
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'], env: { LANG: 'C' } },
    );
    // TLS with the CA's certificate for the database host's address; the key readable by the server only.
    const issued = ca.issue(`${host}-postgres`, address);
    const certFile = join(dir, 'server.crt');
    const keyFile = join(dir, 'server.key');
    copyFileSync(issued.certFile, certFile);
    copyFileSync(issued.keyFile, keyFile);
    for (const file of [certFile, keyFile]) chownSync(file, user.uid, user.gid);
    chmodSync(keyFile, 0o600);
    // Only TLS from the test subnet with the password; initdb's own lines cover loopback and the socket.
    appendFileSync(join(data, 'pg_hba.conf'), `hostssl all careledger ${lan.subnet} scram-sha-256\n`);

    const child: ChildProcess = lan.spawn(
      host,
      'setpriv',
      setpriv(join(bin, 'postgres'), [
        '-D',
        data,
        '-c',
        `listen_addresses=${address}`,
        '-c',
        `port=${PORT}`,
        '-c',
        `unix_socket_directories=${dir}`,
        '-c',
        'ssl=on',
        '-c',
        `ssl_cert_file=${certFile}`,
        '-c',
        `ssl_key_file=${keyFile}`,
        '-c',
        'max_connections=80',
        '-c',
        'shared_buffers=16MB',
      ]),
      { stdio: ['ignore', 'ignore', 'pipe'], env: { LANG: 'C' } },
    );
    const lines: string[] = [];
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          lines.push(line);
          if (lines.length > 200) lines.shift();
          if (line.includes('database system is ready to accept connections')) resolve();
        }
      });
      child.once('exit', (code) =>
        reject(new Error(`PostgreSQL on ${host} exited (${code}) before it was ready: ${lines.join(' | ')}`)),
      );
    });
    const urlOf = (database: string) =>
      `postgres://careledger:${password}@${address}:${PORT}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.certFile)}`;
    // From the test process (the operator's workstation on the network): over TLS, with the password.
    const admin = new pg.Client({ connectionString: urlOf('postgres') });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE careledger');
    } finally {
      await admin.end();
    }
    return {
      url: urlOf('careledger'),
      address,
      password,
      lines,
      async close() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGINT');
          await exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
