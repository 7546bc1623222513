/**
 * One member served by several separate `careledger node start` processes (not node:cluster workers)
 * sharing one throw-away PostgreSQL database, as processes on several machines would (decision 0022):
 * each its own port, all standing for election as the log sequencer. For the sequencer tests
 * (test/node/sequencer-election.int.test.ts, test/crash/sequencer-kill-crash.int.test.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Resource } from '@medplum/fhirtypes';
import pg from 'pg';
import { parseVerifierKey, verifyTlogProof } from '../../src/log/index.js';
import { parseVersionProof, versionEntryOf } from '../../src/vault/version-proof.js';
import { cliNodeArgs } from '../support/cli-entry.js';
import { findFreePort } from '../support/free-port.js';
import { prepareSoloNode, type SoloNodeFolder } from '../support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';
import type { LogHistory } from './log-history.js';

const CLINICIAN = {
  'X-CareLedger-Identity': 'Practitioner/dr-1',
  'X-CareLedger-Roles': 'clinician',
  Accept: 'application/fhir+json',
  'Content-Type': 'application/fhir+json',
};

export interface MemberProcess {
  readonly name: string;
  readonly port: number;
  child: ChildProcess;
  readonly lines: string[];
}

export interface SequencedMember {
  readonly folder: SoloNodeFolder;
  readonly postgres: TestPostgres;
  readonly url: string;
  readonly processes: MemberProcess[];
  /** Starts (or restarts) process `i` and resolves once it listens. */
  start(i: number): Promise<void>;
  /**
   * Adds `node start --workers <workers>` (node:cluster) on a new port, sharing the folder and the
   * database; resolves once every worker listens.
   */
  addCluster(workers: number): Promise<MemberProcess>;
  close(): Promise<void>;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** A member of `count` processes on one new PostgreSQL database, started one after the other. */
export async function startSequencedMember(count: number, leaseMs: number): Promise<SequencedMember> {
  const postgres = await startTestPostgres();
  const url = await postgres.createDatabase('member');
  const folder = await prepareSoloNode();
  const processes: MemberProcess[] = [];
  for (let i = 0; i < count; i++)
    processes.push({ name: `p${i}`, port: await findFreePort(), child: undefined as never, lines: [] });
  const start = (i: number, workers = 1): Promise<void> => {
    const p = processes[i] as MemberProcess;
    const args = [...cliNodeArgs(), 'node', 'start', '--dir', folder.nodeDir];
    args.push(
      '--workers',
      String(workers),
      '--port',
      String(p.port),
      '--sequencer-lease-ms',
      String(leaseMs),
    );
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CARELEDGER_DATABASE_URL: url },
    });
    p.child = child;
    return new Promise((resolve, reject) => {
      let listening = 0;
      const onData = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) {
          if (line.trim() === '') continue;
          p.lines.push(line);
          if (line.includes('listening on') && ++listening === workers) resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) =>
        reject(new Error(`${p.name} exited during start (${code}): ${p.lines.slice(-5).join(' | ')}`)),
      );
    });
  };
  // One after the other: the first creates the node's files and the schema.
  for (let i = 0; i < count; i++) await start(i);
  return {
    folder,
    postgres,
    url,
    processes,
    start,
    async addCluster(workers: number): Promise<MemberProcess> {
      const p: MemberProcess = {
        name: `cluster${processes.length}`,
        port: await findFreePort(),
        child: undefined as never,
        lines: [],
      };
      processes.push(p);
      await start(processes.length - 1, workers);
      return p;
    },
    async close() {
      // CARELEDGER_TEST_LOG=file keeps what every process printed, for a failure's post-mortem.
      const logFile = process.env.CARELEDGER_TEST_LOG;
      if (logFile !== undefined)
        writeFileSync(logFile, processes.flatMap((p) => p.lines.map((l) => `${p.name} ${l}`)).join('\n'));
      for (const p of processes) {
        if (p.child === undefined) continue;
        if (p.child.signalCode === null && p.child.exitCode === null) {
          p.child.kill('SIGCONT');
          p.child.kill('SIGTERM');
        }
        // A planned stop drains the outbox (bounded); one that hangs beyond that is reported, then killed.
        const stopped = await Promise.race([
          exited(p.child).then(() => true),
          pause(30_000).then(() => false),
        ]);
        if (!stopped) {
          process.stderr.write(`${p.name} did not stop on SIGTERM: ${p.lines.slice(-5).join(' | ')}\n`);
          p.child.kill('SIGKILL');
          await exited(p.child);
        }
      }
      await folder.chain.stop();
      await postgres.close();
    },
  };
}

const base = (p: MemberProcess) => `http://127.0.0.1:${p.port}`;

export function isRunning(p: MemberProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** Creates a Patient through process `p`; resolves with its id only on 201 (acknowledged). */
export async function createPatient(p: MemberProcess, marker: string): Promise<string> {
  const response = await fetch(`${base(p)}/fhir/Patient`, {
    method: 'POST',
    headers: CLINICIAN,
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: marker }] }),
    signal: AbortSignal.timeout(60_000),
  });
  if (response.status !== 201) throw new Error(`create answered ${response.status}`);
  return ((await response.json()) as Resource).id as string;
}

/** The sequencer role a process reports, or undefined when it does not answer. */
export async function roleOf(p: MemberProcess): Promise<string | undefined> {
  try {
    const response = await fetch(`${base(p)}/status`, { signal: AbortSignal.timeout(2_000) });
    const body = (await response.json()) as { log?: { sequencer?: { role?: string } } };
    return body.log?.sequencer?.role;
  } catch {
    return undefined;
  }
}

/** Waits (a bounded number of looks) until exactly one of `among` reports leading; returns it. */
export async function waitForLeader(among: readonly MemberProcess[], looks = 300): Promise<MemberProcess> {
  for (let look = 0; look < looks; look++) {
    const roles = await Promise.all(among.map((p) => roleOf(p)));
    const leaders = among.filter((_, i) => roles[i] === 'leader');
    if (leaders.length === 1) return leaders[0] as MemberProcess;
    await pause(100);
  }
  throw new Error('no process took the sequencer lease');
}

/** Reads a patient with its version proof through `p` and checks its inclusion in a signed checkpoint. */
export async function verifyLogged(p: MemberProcess, logVerifierKey: string, id: string): Promise<void> {
  const read = await fetch(`${base(p)}/fhir/Patient/${id}`, {
    headers: { ...CLINICIAN, 'X-CareLedger-Version-Proof': '1' },
  });
  if (read.status !== 200) throw new Error(`Patient/${id} answered ${read.status}`);
  const served = (await read.json()) as Resource;
  const { proof } = parseVersionProof(served);
  // A checkpoint covers an entry within a second or so of its commit (checkpointing interval).
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(`${base(p)}/log/proof/${proof.index}`);
    if (response.status === 200) {
      verifyTlogProof(await response.text(), {
        logVerifier: parseVerifierKey(logVerifierKey),
        entry: versionEntryOf(served),
      });
      return;
    }
    if (attempt > 200) throw new Error(`no proof for entry ${proof.index} (${response.status})`);
    await pause(100);
  }
}

/** verifyLogged for every id, eight at a time. */
export async function verifyAllLogged(
  p: MemberProcess,
  logVerifierKey: string,
  ids: readonly string[],
): Promise<void> {
  const queue = [...ids];
  const lane = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift())
      await verifyLogged(p, logVerifierKey, id);
  };
  await Promise.all(Array.from({ length: 8 }, lane));
}

/** The log's whole signed history, from the PostgreSQL tables (cf. loadLogHistory for SQLite). */
export async function loadPostgresLogHistory(url: string): Promise<LogHistory> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const conflicting = await client.query<{ size: string }>(
      `SELECT size FROM log_checkpoints GROUP BY size
       HAVING COUNT(DISTINCT root_hash) > 1 OR COUNT(*) > 1 ORDER BY size`,
    );
    const checkpoints = await client.query<{
      size: string;
      root_hash: Buffer;
      note: string;
      created_at: string;
    }>('SELECT size, root_hash, note, created_at FROM log_checkpoints ORDER BY size');
    const leaves = await client.query<{ idx: string; leaf_hash: Buffer }>(
      'SELECT idx, leaf_hash FROM log_leaves ORDER BY idx',
    );
    return {
      conflictingSizes: conflicting.rows.map((r) => Number(r.size)),
      checkpoints: checkpoints.rows.map((r) => ({
        size: Number(r.size),
        rootHash: new Uint8Array(r.root_hash),
        note: r.note,
        createdAt: Number(r.created_at),
      })),
      leafHashes: leaves.rows.map((r, i) => {
        if (Number(r.idx) !== i) throw new Error(`log_leaves has a gap at ${i}`);
        return new Uint8Array(r.leaf_hash);
      }),
    };
  } finally {
    await client.end();
  }
}

/** Writers creating patients through every running process until `stop()`; the acknowledged ids. */
export function startWriters(member: SequencedMember, perProcess: number) {
  const acknowledged: { id: string; via: string }[] = [];
  let stopping = false;
  const writer = async (p: MemberProcess, w: number) => {
    for (let i = 0; !stopping; i++) {
      if (!isRunning(p)) {
        await pause(50);
        continue;
      }
      try {
        acknowledged.push({ id: await createPatient(p, `Load-${p.name}-${w}-${i}`), via: p.name });
      } catch {
        // Refused (503), cut off by a kill, or the process is paused: not acknowledged, nothing owed.
        await pause(20);
      }
    }
  };
  const running = member.processes.flatMap((p) => Array.from({ length: perProcess }, (_, w) => writer(p, w)));
  return {
    acknowledged,
    async until(count: number): Promise<void> {
      while (acknowledged.length < count) await pause(50);
    },
    async stop(): Promise<void> {
      stopping = true;
      await Promise.all(running);
    },
  };
}
