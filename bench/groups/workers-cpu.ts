/**
 * Why FHIR throughput does not grow with `--workers` (issue 17, decision 0033): the same create/read
 * load as bench/groups/fhir-workers.ts, with the CPU each process used in the measured window, from
 * /proc/<pid>/stat (utime + stime), and the machine's idle time, from /proc/stat.
 *
 *   npx tsx bench/groups/workers-cpu.ts [--workers 1,2] [--seconds 6] [--postgres]
 *
 * Processes: the member's primary (SQLite: the log sequencer, no HTTP) and its HTTP workers, this
 * run's anvil and PostgreSQL server processes (with --postgres), and this process (the load
 * generator's thread); another run's anvil or PostgreSQL on the same machine is not counted.
 * Per operation it prints req/s, CPU ms per request of each, the cores the member used, and the
 * share of the machine's cores that stood idle: if none stood idle, a further worker had no core to
 * run on; if the primary's CPU per request times the rate is near one core, the sequencer is the cap.
 */
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { findFreePort } from '../../test/support/free-port.js';
import { prepareSoloNode } from '../../test/support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../../test/support/test-postgres.js';
import { type HttpLoad, startHttpLoad } from '../http-load.js';
import { CARELEDGER_STAFF_HEADERS } from '../support/careledger-process.js';
import {
  listProcesses,
  type MachineCpu,
  processesNamed,
  readMachineCpu,
  readProcCpu,
} from '../support/proc-cpu.js';
import { startMember } from './fhir-workers.js';

const CONNECTIONS = 16;
const STAFF = { ...CARELEDGER_STAFF_HEADERS, 'content-type': 'application/fhir+json' };

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : (process.argv[i + 1] ?? fallback);
}

type Role = 'primary' | 'workers' | 'anvil' | 'postgres' | 'load';

/**
 * The roles of the processes that matter, by pid: the member's pid and its children, and this run's
 * own anvil and PostgreSQL (below this process; other runs' on the same machine are not counted).
 */
function classify(memberPid: number): Map<number, Role> {
  const roles = new Map<number, Role>([[process.pid, 'load']]);
  for (const pid of processesNamed('anvil')) roles.set(pid, 'anvil');
  for (const pid of processesNamed('postgres')) roles.set(pid, 'postgres');
  for (const p of listProcesses()) if (p.ppid === memberPid) roles.set(p.pid, 'workers');
  roles.set(memberPid, 'primary');
  return roles;
}

/** CPU ms by role so far (a process gone meanwhile counts nothing), and the machine's. */
function snapshot(roles: Map<number, Role>): { byRole: Map<Role, number>; machine: MachineCpu } {
  const byRole = new Map<Role, number>();
  for (const [pid, role] of roles) {
    const cpu = readProcCpu(pid);
    byRole.set(role, (byRole.get(role) ?? 0) + (cpu === undefined ? 0 : cpu.userMs + cpu.systemMs));
  }
  return { byRole, machine: readMachineCpu() };
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
  for (const [role, ms] of end.byRole) {
    const used = ms - (start.byRole.get(role) ?? 0);
    cpuMsPerRequest[role] = Number((used / Math.max(measured.ok, 1)).toFixed(2));
  }
  const memberMs =
    (end.byRole.get('primary') ?? 0) -
    (start.byRole.get('primary') ?? 0) +
    (end.byRole.get('workers') ?? 0) -
    (start.byRole.get('workers') ?? 0);
  const total = end.machine.totalMs - start.machine.totalMs;
  return {
    locations: measured.locations,
    result: {
      op,
      perSecond: Number((measured.ok / measured.seconds).toFixed(1)),
      errors: measured.errors,
      cpuMsPerRequest,
      memberCores: Number((memberMs / 1000 / measured.seconds).toFixed(2)),
      machineIdle: Number(((end.machine.idleMs - start.machine.idleMs) / Math.max(total, 1)).toFixed(3)),
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
