/**
 * What one FHIR transaction Bundle costs on SQLite and on PostgreSQL (issue 17; decision 0033 batched a
 * commit group's versions on PostgreSQL into four statements): a solo member in a process of its own
 * (`node start --workers 1`), the same Bundle of one Patient and N-1 Observations posted one at a time,
 * and per Bundle:
 *   - its time, from the POST to the last byte of the answer;
 *   - the SQL statements the node process sent (bench/statement-counter-preload.ts counts every pg
 *     `query`, every better-sqlite3 run/get/all/iterate/exec);
 *   - the CPU of the node process and, on PostgreSQL, of the server's processes (/proc/<pid>/stat).
 * A node does work of its own while idle (the sequencer's look, lease renewal, the chain poller): an
 * idle window before the Bundles measures it, and the net figures subtract it pro rata.
 *
 *   npx tsx bench/transaction-bundle-probe.ts [--entries 100] [--bundles 5] [--backends sqlite,postgres]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../test/support/free-port.js';
import { prepareSoloNode } from '../test/support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../test/support/test-postgres.js';
import { CARELEDGER_STAFF_HEADERS } from './support/careledger-process.js';
import { cpuBetween, processTree, snapshotCpu } from './support/proc-cpu.js';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const PRELOAD = join(import.meta.dirname, 'statement-counter-preload.ts');
const IDLE_MS = 4_000;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

const ENTRIES = Number(option('entries', '100'));
const BUNDLES = Number(option('bundles', '5'));
const BACKENDS = option('backends', 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One Patient and `entries - 1` Observations of it, all new (POST), linked by urn:uuid. */
function transactionBundle(entries: number): string {
  const patient = `urn:uuid:${randomUUID()}`;
  const observation = (i: number) => ({
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource: {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject: { reference: patient },
      effectiveDateTime: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      valueQuantity: {
        value: 60 + (i % 40),
        unit: '/min',
        system: 'http://unitsofmeasure.org',
        code: '/min',
      },
    },
    request: { method: 'POST', url: 'Observation' },
  });
  return JSON.stringify({
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: patient,
        resource: {
          resourceType: 'Patient',
          name: [{ family: 'Bundle', given: ['Probe'] }],
          gender: 'female',
        },
        request: { method: 'POST', url: 'Patient' },
      },
      ...Array.from({ length: entries - 1 }, (_, i) => observation(i)),
    ],
  });
}

/** The server processes of one throw-away cluster: its postmaster (found by its data folder) and below. */
function postgresPids(postgres: TestPostgres): number[] {
  // postgres://careledger@%2Ftmp%2Fclpg-…/careledger: the cluster's folder, URL-encoded, as the host.
  const socketDir = decodeURIComponent(new URL(postgres.url).hostname);
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (cmdline.some((arg) => arg.endsWith('postgres')) && cmdline.includes(join(socketDir, 'data')))
        return processTree(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return [];
}

interface Counts {
  readonly postgres: number;
  readonly sqlite: number;
  readonly byText: Readonly<Record<string, number>>;
}

async function readCounts(child: ChildProcess, file: string): Promise<Counts> {
  rmSync(file, { force: true });
  child.kill('SIGUSR2');
  for (let look = 0; look < 200 && !existsSync(file); look++) await pause(10);
  await pause(5);
  return JSON.parse(readFileSync(file, 'utf8')) as Counts;
}

function startNodeProcess(nodeDir: string, databaseUrl: string, countsFile: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', PRELOAD, MAIN, 'node', 'start', '--dir', nodeDir, '--workers', '1'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CARELEDGER_DATABASE_URL: databaseUrl, CARELEDGER_BENCH_COUNTS_FILE: countsFile },
    },
  );
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() !== '') lines.push(line);
        if (line.includes('listening on')) resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`node exited (${code}): ${lines.slice(-5).join(' | ')}`)));
  });
}

interface Window {
  readonly ms: number;
  readonly statements: number;
  readonly postgresStatements: number;
  readonly sqliteStatements: number;
  /** PostgreSQL statements by the start of their text. */
  readonly byText: Readonly<Record<string, number>>;
  readonly nodeCpuMs: number;
  readonly postgresCpuMs: number;
}

async function measureWindow(
  child: ChildProcess,
  countsFile: string,
  postgres: TestPostgres | undefined,
  work: () => Promise<void>,
): Promise<Window> {
  const nodePids = processTree(child.pid as number);
  const serverPids = postgres === undefined ? [] : postgresPids(postgres);
  const countsBefore = await readCounts(child, countsFile);
  const nodeBefore = snapshotCpu(nodePids);
  const serverBefore = snapshotCpu(serverPids);
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const nodeAfter = snapshotCpu(nodePids);
  const serverAfter = snapshotCpu(serverPids);
  const countsAfter = await readCounts(child, countsFile);
  return {
    ms,
    statements: countsAfter.postgres - countsBefore.postgres + countsAfter.sqlite - countsBefore.sqlite,
    postgresStatements: countsAfter.postgres - countsBefore.postgres,
    sqliteStatements: countsAfter.sqlite - countsBefore.sqlite,
    byText: Object.fromEntries(
      Object.entries(countsAfter.byText)
        .map(([text, n]) => [text, n - (countsBefore.byText[text] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    ),
    nodeCpuMs: cpuBetween(nodeBefore, nodeAfter).totalMs,
    postgresCpuMs: cpuBetween(serverBefore, serverAfter).totalMs,
  };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function probe(backend: 'sqlite' | 'postgres', postgres: TestPostgres | undefined) {
  const port = await findFreePort();
  const folder = await prepareSoloNode({ port });
  const databaseUrl = postgres === undefined ? '' : await postgres.createDatabase(`bundle_${Date.now()}`);
  const countsFile = join(tmpdir(), `careledger-bundle-counts-${process.pid}.json`);
  const child = await startNodeProcess(folder.nodeDir, databaseUrl, countsFile);
  const origin = `http://127.0.0.1:${port}`;
  const post = async () => {
    const response = await fetch(`${origin}/fhir`, {
      method: 'POST',
      headers: { ...CARELEDGER_STAFF_HEADERS, 'content-type': 'application/fhir+json' },
      body: transactionBundle(ENTRIES),
    });
    const text = await response.text();
    if (response.status !== 200)
      throw new Error(`transaction answered ${response.status}: ${text.slice(0, 300)}`);
  };
  try {
    await post(); // warm-up: caches, pooled connections, the FHIR definitions' first use
    const idle = await measureWindow(child, countsFile, postgres, () => pause(IDLE_MS));
    const bundles: Window[] = [];
    for (let i = 0; i < BUNDLES; i++) bundles.push(await measureWindow(child, countsFile, postgres, post));
    const net = (
      w: Window,
      key: 'statements' | 'postgresStatements' | 'sqliteStatements' | 'nodeCpuMs' | 'postgresCpuMs',
    ) => w[key] - (idle[key] * w.ms) / idle.ms;
    return {
      backend,
      entries: ENTRIES,
      bundles: BUNDLES,
      msPerBundle: median(bundles.map((b) => b.ms)),
      statements: median(bundles.map((b) => b.statements)),
      statementsNet: median(bundles.map((b) => net(b, 'statements'))),
      postgresStatementsNet: median(bundles.map((b) => net(b, 'postgresStatements'))),
      sqliteStatementsNet: median(bundles.map((b) => net(b, 'sqliteStatements'))),
      nodeCpuMs: median(bundles.map((b) => b.nodeCpuMs)),
      nodeCpuMsNet: median(bundles.map((b) => net(b, 'nodeCpuMs'))),
      postgresCpuMs: median(bundles.map((b) => b.postgresCpuMs)),
      postgresCpuMsNet: median(bundles.map((b) => net(b, 'postgresCpuMs'))),
      idlePerSecond: {
        statements: (idle.statements * 1000) / idle.ms,
        postgresStatements: (idle.postgresStatements * 1000) / idle.ms,
        sqliteStatements: (idle.sqliteStatements * 1000) / idle.ms,
        nodeCpuMs: (idle.nodeCpuMs * 1000) / idle.ms,
        postgresCpuMs: (idle.postgresCpuMs * 1000) / idle.ms,
      },
      /** The last Bundle's PostgreSQL statements by text (background ones included), most first. */
      postgresByText: Object.entries(bundles.at(-1)?.byText ?? {})
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20),
      each: bundles.map((b) => ({
        ms: Math.round(b.ms),
        postgresStatements: b.postgresStatements,
        sqliteStatements: b.sqliteStatements,
        nodeCpuMs: b.nodeCpuMs,
        postgresCpuMs: b.postgresCpuMs,
      })),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await folder.chain.stop();
    rmSync(folder.dir, { recursive: true, force: true });
    rmSync(countsFile, { force: true });
  }
}

const postgres = BACKENDS.includes('postgres') ? await startTestPostgres() : undefined;
try {
  const started = new Date().toISOString();
  const load = loadavg().map((l) => l.toFixed(1));
  const results = [];
  for (const backend of BACKENDS)
    results.push(await probe(backend, backend === 'postgres' ? postgres : undefined));
  process.stdout.write(
    `${JSON.stringify({ started, loadAverageAtStart: load, loadAverageAtEnd: loadavg().map((l) => l.toFixed(1)), results }, null, 2)}\n`,
  );
} finally {
  await postgres?.close();
}
