/**
 * FHIR create and read with 1 and N worker processes (issue 17 items 1 and 2, decisions 0014 and 0022),
 * on SQLite (one primary sequences the log over IPC) and on PostgreSQL (every process stands for
 * election; the log's sequencer is elected through the database and writes queue durably there).
 * N is the number of cores. Each run is one solo member (`careledger node start --workers W`) in its
 * own process tree on a real anvil, loaded over HTTP from a worker thread of this process at 16
 * keep-alive connections. Reports req/s and how much each grows from 1 to N workers.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../test/support/free-port.js';
import { prepareSoloNode } from '../../test/support/start-solo-node.js';
import { startTestPostgres, type TestPostgres } from '../../test/support/test-postgres.js';
import { type HttpLoad, startHttpLoad } from '../http-load.js';
import { formatNumber } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const CONNECTIONS = 16;
const STAFF = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'x-careledger-purpose': 'TREAT',
  'content-type': 'application/fhir+json',
};

/** Starts `careledger node start --workers N` and resolves once every worker listens. */
export function startMember(nodeDir: string, workers: number, databaseUrl?: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'node', 'start', '--dir', nodeDir, '--workers', String(workers)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CARELEDGER_DATABASE_URL: databaseUrl ?? '' },
    },
  );
  const tail: string[] = [];
  return new Promise((resolve, reject) => {
    let listening = 0;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail.push(text);
      if (tail.length > 20) tail.shift();
      listening += text.split('listening on').length - 1;
      if (listening >= workers) resolve(child);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`node start exited (${code}): ${tail.join('').slice(-600)}`)),
    );
  });
}

interface Run {
  readonly create: number;
  readonly read: number;
  readonly errors: number;
}

async function measure(
  load: HttpLoad,
  workers: number,
  durationMs: number,
  postgres: TestPostgres | undefined,
  round: number,
): Promise<Run> {
  const port = await findFreePort();
  const folder = await prepareSoloNode({ port });
  const url =
    postgres === undefined ? undefined : await postgres.createDatabase(`bench_w${workers}_${round}`);
  const member = await startMember(folder.nodeDir, workers, url);
  const origin = `http://127.0.0.1:${port}`;
  try {
    const patient = (await fetch(`${origin}/fhir/Patient`, {
      method: 'POST',
      headers: STAFF,
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Bench' }] }),
    }).then((r) => r.json())) as { id: string };
    const observation = JSON.stringify({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
      subject: { reference: `Patient/${patient.id}` },
      valueQuantity: { value: 5.4, unit: 'mmol/L' },
    });
    const common = { origin, connections: CONNECTIONS, warmupMs: 1000, durationMs, connectPath: '/health' };
    const create = await load.run({
      ...common,
      method: 'POST',
      paths: ['/fhir/Observation'],
      headers: STAFF,
      body: observation,
      collectLocations: true,
    });
    const paths = create.locations.map((l) => new URL(l, origin).pathname.replace(/\/_history\/\d+$/, ''));
    const read = await load.run({ ...common, method: 'GET', paths, headers: STAFF });
    return {
      create: create.ok / create.seconds,
      read: read.ok / read.seconds,
      errors: create.errors + read.errors,
    };
  } finally {
    member.kill('SIGTERM');
    await new Promise((r) => member.once('exit', r));
    await folder.chain.stop();
    rmSync(folder.dir, { recursive: true, force: true });
  }
}

export const fhirWorkersGroup: Group = {
  name: 'fhir-workers',
  description: 'FHIR create/read at 1 and N worker processes, on SQLite and on PostgreSQL',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const cores = availableParallelism();
    const counts = cores > 1 ? [1, cores] : [1, 2];
    const durationMs = ctx.options.quick ? 3_000 : 8_000;
    const figures: Figure[] = [];
    const load = await startHttpLoad();
    let postgres: TestPostgres | undefined;
    const release = ctx.onInterrupt(async () => {
      await load.close();
      await postgres?.close();
    });
    try {
      for (const backend of ['sqlite', 'postgres'] as const) {
        if (backend === 'postgres') postgres = await startTestPostgres();
        const runs = new Map<number, Run>();
        for (const workers of counts) {
          ctx.progress(`fhir-workers: ${backend}, ${workers} worker process(es)`);
          runs.set(workers, await measure(load, workers, durationMs, postgres, runs.size));
        }
        const one = runs.get(1) as Run;
        for (const [workers, run] of runs) {
          for (const op of ['create', 'read'] as const) {
            const growth = run[op] / Math.max(one[op], 1e-9);
            figures.push({
              group: 'fhir-workers',
              id: `fhir-workers.${backend}.${op}.w${workers}`,
              label: `${op} Observation, ${backend}, --workers ${workers} (${CONNECTIONS} connections)`,
              value: run[op],
              unit: 'req/s',
              extra: { workers, growthFromOneWorker: Number(growth.toFixed(2)), errors: run.errors },
              ratios: [],
              note: workers === 1 ? 'baseline' : `${formatNumber(growth)} × --workers 1`,
            });
          }
        }
        await postgres?.close();
        postgres = undefined;
      }
    } finally {
      release();
      await load.close();
      await postgres?.close();
    }
    return {
      figures,
      charts: [
        {
          file: 'fhir-workers.svg',
          title: 'FHIR create/read by worker processes, SQLite and PostgreSQL',
          unit: 'req/s',
          figureIds: figures.map((f) => f.id),
          scale: 'linear',
        },
      ],
      notes: [
        `N = ${counts[1]} (cores here: ${cores}). SQLite: a primary sequences the log over IPC (decision 0014); ` +
          'PostgreSQL: every process is a whole node and the sequencer is elected through the database, ' +
          'each write queued durably and acknowledged once sequenced (decision 0022). On a shared 2-core ' +
          'machine the load generator, anvil and PostgreSQL compete with the workers for the same cores.',
      ],
    };
  },
};
