/**
 * Why FHIR throughput does not grow with `--workers` (issue 17, decision 0033): the same create/read
 * load as bench/groups/fhir-workers.ts, with the CPU each process used in the measured window, from
 * /proc/<pid>/stat (utime + stime), and the machine's idle time, from /proc/stat.
 *
 *   npx tsx bench/groups/workers-cpu.ts [--workers 1,2] [--seconds 6] [--postgres]
 *
 * Processes: the member's primary (SQLite: the log sequencer, no HTTP) and its HTTP workers, anvil,
 * PostgreSQL's server processes (with --postgres), and this process (the load generator's thread).
 * Per operation it prints req/s, CPU ms per request of each, the cores the member used, and the
 * share of the machine's cores that stood idle: if none stood idle, a further worker had no core to
 * run on; if the primary's CPU per request times the rate is near one core, the sequencer is the cap.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { findFreePort } from '../../test/support/free-port.js';
import { prepareSoloNode } from '../../test/support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../../test/support/test-postgres.js';
import { type HttpLoad, startHttpLoad } from '../http-load.js';
import { startMember } from './fhir-workers.js';

const CONNECTIONS = 16;
const TICKS_PER_SECOND = 100; // USER_HZ on Linux (sysconf(_SC_CLK_TCK))
const STAFF = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'x-careledger-purpose': 'TREAT',
  'content-type': 'application/fhir+json',
};

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly ticks: number;
}

function readProc(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] = state (field 3); ppid is field 4, utime 14, stime 15 (proc(5)).
    return { pid, ppid: Number(fields[1]), comm, ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

function allProcs(): ProcStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProc(Number(name)))
    .filter((p): p is ProcStat => p !== undefined);
}

/** Idle and total jiffies of all cores (/proc/stat's first line). */
function machineTicks(): { idle: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { idle, total: fields.reduce((a, b) => a + b, 0) };
}

type Role = 'primary' | 'workers' | 'anvil' | 'postgres' | 'load';

/** The roles of the processes that matter, by pid, found from the member's pid down. */
function classify(memberPid: number): Map<number, Role> {
  const procs = allProcs();
  const roles = new Map<number, Role>([[process.pid, 'load']]);
  roles.set(memberPid, 'primary');
  for (const p of procs) {
    if (p.ppid === memberPid) roles.set(p.pid, 'workers');
    else if (p.comm === 'anvil') roles.set(p.pid, 'anvil');
    else if (p.comm === 'postgres' || p.comm.startsWith('postgres')) roles.set(p.pid, 'postgres');
  }
  return roles;
}

function snapshot(roles: Map<number, Role>): {
  byRole: Map<Role, number>;
  machine: { idle: number; total: number };
} {
  const byRole = new Map<Role, number>();
  for (const [pid, role] of roles) byRole.set(role, (byRole.get(role) ?? 0) + (readProc(pid)?.ticks ?? 0));
  return { byRole, machine: machineTicks() };
}

interface OpResult {
  readonly op: 'create' | 'read';
  readonly perSecond: number;
  readonly errors: number;
  /** CPU ms per answered request, by role. */
  readonly cpuMsPerRequest: Record<string, number>;
  /** Cores the member's processes (primary + workers) kept busy. */
  readonly memberCores: number;
  /** Share of all the machine's core time that was idle in the window. */
  readonly machineIdle: number;
}

async function measureOp(
  load: HttpLoad,
  memberPid: number,
  job: Parameters<HttpLoad['run']>[0],
  op: 'create' | 'read',
): Promise<{ result: OpResult; locations: string[] }> {
  const roles = classify(memberPid);
  let start: ReturnType<typeof snapshot> | undefined;
  let end: ReturnType<typeof snapshot> | undefined;
  const measured = await load.run(job, (edge) => {
    if (edge === 'window-start') start = snapshot(roles);
    else end = snapshot(roles);
  });
  if (start === undefined || end === undefined) throw new Error('the load ran without a window');
  const cpuMsPerRequest: Record<string, number> = {};
  for (const [role, ticks] of end.byRole) {
    const used = ticks - (start.byRole.get(role) ?? 0);
    cpuMsPerRequest[role] = Number(((used * 1000) / TICKS_PER_SECOND / Math.max(measured.ok, 1)).toFixed(2));
  }
  const memberTicks =
    (end.byRole.get('primary') ?? 0) -
    (start.byRole.get('primary') ?? 0) +
    (end.byRole.get('workers') ?? 0) -
    (start.byRole.get('workers') ?? 0);
  const total = end.machine.total - start.machine.total;
  return {
    locations: measured.locations,
    result: {
      op,
      perSecond: Number((measured.ok / measured.seconds).toFixed(1)),
      errors: measured.errors,
      cpuMsPerRequest,
      memberCores: Number((memberTicks / TICKS_PER_SECOND / measured.seconds).toFixed(2)),
      machineIdle: Number(((end.machine.idle - start.machine.idle) / Math.max(total, 1)).toFixed(3)),
    },
  };
}

async function measure(load: HttpLoad, workers: number, seconds: number, postgres: TestPostgres | undefined) {
  const port = await findFreePort();
  const folder = await prepareSoloNode({ port });
  const url =
    postgres === undefined ? undefined : await postgres.createDatabase(`cpu_w${workers}_${Date.now()}`);
  const member = await startMember(folder.nodeDir, workers, url);
  const origin = `http://127.0.0.1:${port}`;
  try {
    const patient = (await fetch(`${origin}/fhir/Patient`, {
      method: 'POST',
      headers: STAFF,
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench' }] }),
    }).then((r) => r.json())) as { id: string };
    const body = JSON.stringify({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
      subject: { reference: `Patient/${patient.id}` },
      valueQuantity: { value: 5.4, unit: 'mmol/L' },
    });
    const common = {
      origin,
      connections: CONNECTIONS,
      warmupMs: 1000,
      durationMs: seconds * 1000,
      connectPath: '/health',
    };
    const pid = member.pid as number;
    const create = await measureOp(
      load,
      pid,
      {
        ...common,
        method: 'POST',
        paths: ['/fhir/Observation'],
        headers: STAFF,
        body,
        collectLocations: true,
      },
      'create',
    );
    const paths = create.locations.map((l) => new URL(l, origin).pathname.replace(/\/_history\/\d+$/, ''));
    const read = await measureOp(load, pid, { ...common, method: 'GET', paths, headers: STAFF }, 'read');
    return [create.result, read.result];
  } finally {
    member.kill('SIGTERM');
    await new Promise((r) => member.once('exit', r));
    await folder.chain.stop();
    rmSync(folder.dir, { recursive: true, force: true });
  }
}

const counts = option('workers', '1,2').split(',').map(Number);
const seconds = Number(option('seconds', '6'));
const postgres = process.argv.includes('--postgres') ? await startTestPostgres() : undefined;
const load = await startHttpLoad();
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
try {
  for (const workers of counts) {
    const before = loadAverage();
    for (const r of await measure(load, workers, seconds, postgres)) {
      process.stdout.write(
        `${JSON.stringify({ backend: postgres === undefined ? 'sqlite' : 'postgres', workers, cores: availableParallelism(), loadAverage: before, ...r })}\n`,
      );
    }
  }
} finally {
  await load.close();
  await postgres?.close();
}
