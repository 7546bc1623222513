/**
 * A real, throw-away PostgreSQL cluster for integration tests (Debian's `postgresql` package, installed
 * by scripts/install-system-deps.sh): initdb into a temporary folder, a server listening only on a
 * Unix socket inside it (no TCP port to collide with another test worker), fsync and
 * synchronous_commit on, stopped and deleted at the end. One per test file, like test-anvil.ts.
 *
 * initdb refuses to run as root, so as root the cluster runs as the `postgres` system user (or
 * `nobody` where that user does not exist), through setpriv.
 *
 * If PostgreSQL cannot start, this throws with the reason: a PostgreSQL test never skips silently.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** postgres:// URL of the `careledger` database (the socket folder in `host=`). */
  readonly url: string;
  /** A new, empty database on the same server, for a test that needs its own. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (SIGINT); `start` brings the same data back. */
  stop(): Promise<void>;
  /** Immediate shutdown (SIGQUIT, no checkpoint: like a power cut for the server); `start` recovers. */
  crash(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (immediate shutdown) and deletes the cluster. */
  close(): Promise<void>;
}

const INSTALL_HINT = 'install it with `bash scripts/install-system-deps.sh` (Debian package postgresql)';

/** The folder holding initdb and postgres: on PATH, else Debian's /usr/lib/postgresql/<major>/bin. */
export function findPostgresBin(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors[0] === undefined) throw new Error(`PostgreSQL is not installed here: ${INSTALL_HINT}`);
  return join(root, majors[0], 'bin');
}

/** Who runs the cluster: ourselves, or (as root) an unprivileged system user. */
function clusterUser(): {
  uid: number;
  gid: number;
  wrap: (cmd: string, args: string[]) => [string, string[]];
} {
  const uid = process.getuid?.() ?? 0;
  if (uid !== 0) {
    return { uid, gid: process.getgid?.() ?? 0, wrap: (cmd, args) => [cmd, args] };
  }
  for (const name of ['postgres', 'nobody']) {
    try {
      const ids = execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim();
      const gid = execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim();
      return {
        uid: Number(ids),
        gid: Number(gid),
        wrap: (cmd, args) => [
          'setpriv',
          [`--reuid=${ids}`, `--regid=${gid}`, '--clear-groups', '--reset-env', cmd, ...args],
        ],
      };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error('running as root, and neither the postgres nor the nobody user exists to run PostgreSQL');
}

function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { LANG: 'C' } });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`PostgreSQL test cluster: ${cmd} ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  const user = clusterUser();
  // Short path: a Unix socket path is limited to 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'clpg-'));
  chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const [initCmd, initArgs] = user.wrap(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'careledger',
    '-A',
    'trust',
    '--encoding=UTF8',
    '--no-locale',
    '--no-instructions',
  ]);
  try {
    run(initCmd, initArgs);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let server: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // The server runs under a small shell that stops it when our end of its stdin closes: when the
  // test process dies however it dies (a killed worker runs no 'exit' handler), no server is left
  // behind. A line on stdin names the signal: INT (fast shutdown) or QUIT (immediate, like a crash).
  const watchdog = [
    `"$0" -D "$1" -c listen_addresses= -c unix_socket_directories="$2" -c fsync=on -c synchronous_commit=on`,
    '-c full_page_writes=on -c max_connections=200 -c shared_buffers=16MB & pg=$!;',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
    'read -r sig; kill -"${sig:-INT}" "$pg"; wait "$pg"',
  ].join(' ');
  const start = async (): Promise<void> => {
    const [cmd, args] = user.wrap('/bin/sh', ['-c', watchdog, join(bin, 'postgres'), data, dir]);
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'], env: { LANG: 'C' } });
    server = child;
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // A shell already gone (a test killed it) closes the pipe: the line written on halt then fails
    // with EPIPE, which must not become an unhandled error; halt waits for the exit either way.
    child.stdin?.on('error', () => undefined);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('database system is ready to accept connections')) resolve();
      });
      child.once('exit', (code) =>
        reject(
          new Error(`PostgreSQL test server exited (${code}) before it was ready: ${output.slice(-2000)}`),
        ),
      );
      child.once('error', (error) =>
        reject(new Error(`PostgreSQL test server did not start: ${error.message}`)),
      );
    });
  };
  const halt = async (signal: 'INT' | 'QUIT'): Promise<void> => {
    if (server === undefined || server.exitCode !== null) return;
    server.stdin?.end(`${signal}\n`);
    await exited;
    server = undefined;
  };

  await start();
  const socket = encodeURIComponent(dir);
  const urlOf = (database: string) => `postgres://careledger@${socket}/${database}`;
  const createDatabase = async (name: string): Promise<string> => {
    if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) throw new Error(`bad test database name ${name}`);
    const admin = new pg.Client({ connectionString: urlOf('postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return urlOf(name);
  };
  await createDatabase('careledger');

  return {
    url: urlOf('careledger'),
    createDatabase,
    stop: () => halt('INT'),
    crash: () => halt('QUIT'),
    start,
    async close(): Promise<void> {
      // Immediate shutdown: the cluster is deleted next, so a shutdown checkpoint (fsyncing every
      // database a suite created, minutes on a loaded machine) would buy nothing.
      await halt('QUIT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
