/**
 * What one FHIR transaction Bundle costs (issue 17; decision 0033 batched a commit group's versions on
 * PostgreSQL into four statements): a solo member in a process of its own (`node start --workers 1`,
 * real anvil), the same kind of Bundle (one Patient and N-1 Observations of it, all POST, linked by
 * urn:uuid) posted one at a time after a warm-up Bundle, and per Bundle:
 *   - its time, from the POST to the last byte of the answer;
 *   - the SQL statements the node process sent (bench/statement-counter-preload.ts counts every pg
 *     `query`, every better-sqlite3 run/get/all/iterate/exec);
 *   - the CPU of the node process and, on PostgreSQL, of this run's server processes (/proc/<pid>/stat).
 * A node does work of its own while idle (the sequencer's look, lease renewal, the chain poller): an
 * idle window before the Bundles measures it, and the net figures subtract it pro rata.
 *
 * On SQLite; also on a throw-away PostgreSQL cluster with `--size transaction-bundle-postgres=1`.
 * `--size transaction-bundle=N` sets the entries per Bundle (100), `--size transaction-bundle-count=B`
 * the Bundles measured (5; 3 with --quick).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPostgres, type TestPostgres } from '../../test/support/test-postgres.js';
import { formatNumber } from '../measure.js';
import { CARELEDGER_STAFF_HEADERS, startCareLedgerProcess } from '../support/careledger-process.js';
import { cpuBetween, processesNamed, processTree, snapshotCpu } from '../support/proc-cpu.js';
import { median } from '../support/side-by-side.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const GROUP = 'transaction-bundle';
const PRELOAD = join(import.meta.dirname, '..', 'statement-counter-preload.ts');

type Backend = 'sqlite' | 'postgres';

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One Patient and `entries - 1` Observations of it, all new (POST), linked by urn:uuid. */
export function transactionBundle(entries: number): string {
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

interface Counts {
  readonly postgres: number;
  readonly sqlite: number;
  readonly byText: Readonly<Record<string, number>>;
}

/** The node's statement counts so far: SIGUSR2 makes the preload write them to `file`. */
async function readCounts(nodePid: number, file: string): Promise<Counts> {
  rmSync(file, { force: true });
  process.kill(nodePid, 'SIGUSR2');
  for (let look = 0; look < 200 && !existsSync(file); look++) await pause(10);
  await pause(5);
  return JSON.parse(readFileSync(file, 'utf8')) as Counts;
}

interface Window {
  readonly ms: number;
  readonly postgresStatements: number;
  readonly sqliteStatements: number;
  /** PostgreSQL statements by the start of their text. */
  readonly byText: Readonly<Record<string, number>>;
  readonly nodeCpuMs: number;
  readonly postgresCpuMs: number;
}

type Measured = 'statements' | 'nodeCpuMs' | 'postgresCpuMs';

const statements = (w: Window) => w.postgresStatements + w.sqliteStatements;

async function measureWindow(
  nodePid: number,
  countsFile: string,
  backend: Backend,
  work: () => Promise<void>,
): Promise<Window> {
  const nodePids = processTree(nodePid);
  const serverPids = backend === 'postgres' ? processesNamed('postgres') : [];
  const countsBefore = await readCounts(nodePid, countsFile);
  const nodeBefore = snapshotCpu(nodePids);
  const serverBefore = snapshotCpu(serverPids);
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const nodeAfter = snapshotCpu(nodePids);
  const serverAfter = snapshotCpu(serverPids);
  const countsAfter = await readCounts(nodePid, countsFile);
  return {
    ms,
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

interface Sizes {
  readonly entries: number;
  readonly bundles: number;
  readonly idleMs: number;
}

async function measureBackend(
  ctx: GroupContext,
  backend: Backend,
  postgres: TestPostgres | undefined,
  sizes: Sizes,
): Promise<{ figures: Figure[]; notes: string[] }> {
  const databaseUrl = postgres === undefined ? '' : await postgres.createDatabase(`bundle_${Date.now()}`);
  const countsFile = join(tmpdir(), `careledger-bundle-counts-${process.pid}.json`);
  const node = await startCareLedgerProcess({
    workers: 1,
    preload: [PRELOAD],
    env: { CARELEDGER_DATABASE_URL: databaseUrl, CARELEDGER_BENCH_COUNTS_FILE: countsFile },
  });
  const cleanup = ctx.onInterrupt(() => node.stop());
  const post = async () => {
    const response = await fetch(node.fhirBase, {
      method: 'POST',
      headers: { ...CARELEDGER_STAFF_HEADERS, 'content-type': 'application/fhir+json' },
      body: transactionBundle(sizes.entries),
    });
    const text = await response.text();
    if (response.status !== 200)
      throw new Error(`transaction answered ${response.status}: ${text.slice(0, 300)}`);
  };
  try {
    await post(); // warm-up: caches, pooled connections, the FHIR definitions' first use
    ctx.progress(`${GROUP}: ${backend}: idle window, then ${sizes.bundles} Bundles of ${sizes.entries}`);
    const idle = await measureWindow(node.nodePid, countsFile, backend, () => pause(sizes.idleMs));
    const bundles: Window[] = [];
    for (let i = 0; i < sizes.bundles; i++)
      bundles.push(await measureWindow(node.nodePid, countsFile, backend, post));
    const value = (w: Window, key: Measured) => (key === 'statements' ? statements(w) : w[key]);
    const net = (w: Window, key: Measured) => value(w, key) - (value(idle, key) * w.ms) / idle.ms;
    const idlePerSecond = (key: Measured) => Number(((value(idle, key) * 1000) / idle.ms).toFixed(1));
    const figure = (id: string, label: string, key: Measured | 'ms', unit: string): Figure => ({
      group: GROUP,
      id: `${GROUP}.${backend}.${id}`,
      label: `${label} per ${sizes.entries}-entry Bundle, ${backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`,
      value: Math.round(median(bundles.map((b) => (key === 'ms' ? b.ms : net(b, key))))),
      unit,
      extra: {
        bundles: sizes.bundles,
        ...(key === 'ms'
          ? { each: bundles.map((b) => Math.round(b.ms)).join(', ') }
          : {
              gross: Math.round(median(bundles.map((b) => value(b, key)))),
              idlePerSecond: idlePerSecond(key),
            }),
      },
      ratios: [],
      ...(key === 'ms' ? {} : { note: 'net: less what the idle node did in as long' }),
    });
    const figures = [
      figure('time', 'time', 'ms', 'ms'),
      figure('statements', 'SQL statements of the node (net)', 'statements', 'statements'),
      figure('cpu-node', 'CPU of the node process (net)', 'nodeCpuMs', 'ms'),
    ];
    const notes: string[] = [];
    if (backend === 'postgres') {
      figures.push(figure('cpu-postgres', "CPU of PostgreSQL's processes (net)", 'postgresCpuMs', 'ms'));
      const byText = Object.entries(bundles.at(-1)?.byText ?? {})
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8);
      notes.push(
        `${GROUP}: the last Bundle's PostgreSQL statements by text (background included): ` +
          byText.map(([text, n]) => `${formatNumber(n)} × ${text}`).join('; '),
      );
    }
    return { figures, notes };
  } finally {
    cleanup();
    await node.stop();
    rmSync(countsFile, { force: true });
  }
}

export const transactionBundleGroup: Group = {
  name: GROUP,
  description:
    'a 100-entry transaction Bundle: time, SQL statements and CPU of the node (and PostgreSQL with --size transaction-bundle-postgres=1)',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const given = ctx.options.sizes ?? {};
    const sizes: Sizes = {
      entries: given[GROUP] ?? 100,
      bundles: given[`${GROUP}-count`] ?? (ctx.options.quick ? 3 : 5),
      idleMs: ctx.options.quick ? 2_000 : 4_000,
    };
    if (sizes.entries < 1 || sizes.bundles < 1)
      throw new Error(`${GROUP}: entries and Bundles must be at least 1`);
    const backends: Backend[] = (given[`${GROUP}-postgres`] ?? 0) > 0 ? ['sqlite', 'postgres'] : ['sqlite'];
    const figures: Figure[] = [];
    const notes: string[] = [];
    for (const backend of backends) {
      const postgres = backend === 'postgres' ? await startTestPostgres() : undefined;
      const cleanup = ctx.onInterrupt(async () => postgres?.close());
      try {
        const measured = await measureBackend(ctx, backend, postgres, sizes);
        figures.push(...measured.figures);
        notes.push(...measured.notes);
      } finally {
        cleanup();
        await postgres?.close();
      }
    }
    return { figures, charts: [], notes };
  },
};
