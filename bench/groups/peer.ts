/**
 * Side by side with another FHIR R4 server (issue 16 item 4): the same data and the same workloads
 * against a CareLedger node this group starts (its own process, embedded anvil, every protection on)
 * and against the peer the user points at with `--peer-url` (plain FHIR R4 REST, e.g. Medplum at
 * `http://127.0.0.1:8103/fhir/R4` with `--peer-token`). Workloads run interleaved, in 3 rounds whose
 * order alternates, from one load-generating worker thread over keep-alive connections, one request in
 * flight per connection, request bodies serialised beforehand. Each side's CPU per request comes from
 * /proc/<pid>/stat of its processes (and their children) over the same window as its answers, so the
 * comparison holds on a shared machine; without `--peer-pids` the peer's CPU is not measured.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { type HttpLoad, type LoadJob, startHttpLoad } from '../http-load.js';
import { formatNumber } from '../measure.js';
import { CARELEDGER_STAFF_HEADERS, startCareLedgerProcess } from '../support/careledger-process.js';
import { type CpuSnapshot, processTree, readProcCpu, snapshotCpu } from '../support/proc-cpu.js';
import {
  cpuByCommand,
  formatCpuBy,
  medianOfRounds,
  parsePeerOptions,
  type RoundFigure,
  ratio,
  roundFigure,
  roundOrder,
  windowCpuPerPid,
} from '../support/side-by-side.js';
import type { Figure, Group, GroupContext, GroupResult, Ratio } from '../types.js';
import { loadTransactionBundle, TRANSACTION_ENTRIES } from './import.js';

const ROUNDS = 3;
const CONNECTIONS = 16;
const FHIR_JSON = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
/** A small Patient (113 bytes serialised; the reference measurement of the peer used 115). */
const NEW_PATIENT = JSON.stringify({
  resourceType: 'Patient',
  name: [{ family: 'Bench', given: ['Ada'] }],
  gender: 'female',
  birthDate: '1980-02-03',
});

interface Side {
  readonly name: 'CareLedger' | 'peer';
  readonly origin: string;
  /** Path of the FHIR base on the origin: `/fhir`, `/fhir/R4`. */
  readonly prefix: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Processes (with their children) whose CPU counts as this side's; empty: not measured. */
  readonly pids: readonly number[];
}

interface Workload {
  readonly key: string;
  readonly label: string;
  readonly unit: string;
  readonly job: (side: Side, data: SideData) => Omit<LoadJob, 'warmupMs' | 'durationMs' | 'connectPath'>;
}

interface SideData {
  readonly patientIds: readonly string[];
  readonly subject: string;
  readonly subjectObservations: number;
}

function sideOf(name: Side['name'], base: string, headers: Record<string, string>, pids: number[]): Side {
  const url = new URL(base);
  if (url.protocol !== 'http:') throw new Error(`${name}: only http:// FHIR bases are supported (${base})`);
  return { name, origin: url.origin, prefix: url.pathname.replace(/\/+$/, ''), headers, pids };
}

async function post(side: Side, path: string, body: string): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(`${side.origin}${side.prefix}${path}`, {
      method: 'POST',
      headers: { ...side.headers, ...FHIR_JSON },
      body,
    });
  } catch (error) {
    // fetch says only "fetch failed"; the reason (refused, reset, closed) is its cause.
    const cause = (error as { cause?: unknown }).cause;
    throw new Error(
      `${side.name}: POST ${path} failed: ${cause instanceof Error ? cause.message : String(error)}`,
    );
  }
  const text = await response.text();
  if (response.status !== 200 && response.status !== 201)
    throw new Error(`${side.name}: POST ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

function observationOf(subject: string, value: number): string {
  return JSON.stringify({
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: `Patient/${subject}` },
    effectiveDateTime: '2026-01-01T10:00:00Z',
    valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  });
}

/** The template with every urn:uuid id (and its other occurrences) replaced by a fresh one. */
function withFreshUuids(template: string): string {
  const known = new Set([...template.matchAll(/urn:uuid:([0-9a-f-]{36})/g)].map((m) => m[1] as string));
  const fresh = new Map<string, string>();
  return template.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (uuid) => {
    if (!known.has(uuid)) return uuid;
    const replacement = fresh.get(uuid) ?? randomUUID();
    fresh.set(uuid, replacement);
    return replacement;
  });
}

/** The same data on each side: Patients to read, one Patient with Observations to search, one Bundle. */
async function loadData(side: Side, bundle: string, observations: number): Promise<SideData> {
  const patientIds: string[] = [];
  for (let i = 0; i < CONNECTIONS * 4; i++)
    patientIds.push((await post(side, '/Patient', NEW_PATIENT)).id as string);
  const subject = (await post(side, '/Patient', NEW_PATIENT)).id as string;
  for (let i = 0; i < observations; i++) await post(side, '/Observation', observationOf(subject, 60 + i));
  const answer = await post(side, '', withFreshUuids(bundle));
  if (
    answer.resourceType !== 'Bundle' ||
    (answer.entry as unknown[] | undefined)?.length !== TRANSACTION_ENTRIES
  )
    throw new Error(
      `${side.name}: the transaction did not answer a Bundle of ${TRANSACTION_ENTRIES} entries`,
    );
  return { patientIds, subject, subjectObservations: observations };
}

function workloads(bundle: string, quick: boolean): Workload[] {
  return [
    {
      key: 'read',
      label: 'read Patient by id',
      unit: 'requests/s',
      job: (side, data) => ({
        origin: side.origin,
        connections: CONNECTIONS,
        method: 'GET',
        paths: data.patientIds.map((id) => `${side.prefix}/Patient/${id}`),
        headers: { ...side.headers, accept: FHIR_JSON.accept },
      }),
    },
    {
      key: 'create',
      label: `create Patient (${Buffer.byteLength(NEW_PATIENT)} B)`,
      unit: 'requests/s',
      job: (side) => ({
        origin: side.origin,
        connections: CONNECTIONS,
        method: 'POST',
        paths: [`${side.prefix}/Patient`],
        headers: { ...side.headers, ...FHIR_JSON },
        body: NEW_PATIENT,
      }),
    },
    {
      key: 'search',
      label: 'Observation?subject= (_count=20)',
      unit: 'requests/s',
      job: (side, data) => ({
        origin: side.origin,
        connections: CONNECTIONS,
        method: 'GET',
        paths: [`${side.prefix}/Observation?subject=Patient/${data.subject}&_count=20`],
        headers: { ...side.headers, accept: FHIR_JSON.accept },
      }),
    },
    {
      key: 'transaction',
      label: `transaction Bundle (${TRANSACTION_ENTRIES} Synthea entries), 1 conn.`,
      unit: 'Bundles/s',
      // One connection, a fixed number of Bundles: as the reference figures of the peer were taken;
      // fresh urn:uuid ids on every POST, so each creates new resources.
      job: (side) => ({
        origin: side.origin,
        connections: 1,
        method: 'POST',
        paths: [side.prefix === '' ? '/' : side.prefix],
        headers: { ...side.headers, ...FHIR_JSON },
        body: bundle,
        freshUuids: true,
        requestsPerConnection: quick ? 2 : 6,
      }),
    },
  ];
}

/** Runs one job on one side and measures the side's CPU over the counted window. */
async function measure(
  load: HttpLoad,
  side: Side,
  job: LoadJob,
): Promise<{ figure: RoundFigure; firstError?: string }> {
  // The process trees are listed at each edge of the window, not once before the job: a peer's
  // database backends for connections opened during the warm-up or the window count too.
  const snapshot = (): CpuSnapshot => snapshotCpu([...new Set(side.pids.flatMap((pid) => processTree(pid)))]);
  let start: CpuSnapshot | undefined;
  let end: CpuSnapshot | undefined;
  const commands = new Map<number, string>();
  const result = await load.run(job, (edge) => {
    if (side.pids.length === 0) return;
    if (edge === 'window-start') start = snapshot();
    else {
      end = snapshot();
      for (const pid of end.keys()) commands.set(pid, readProcCpu(pid)?.comm ?? 'ended');
    }
  });
  const perPid = start === undefined || end === undefined ? undefined : windowCpuPerPid(start, end);
  let cpuMs: number | undefined;
  if (perPid !== undefined) cpuMs = [...perPid.values()].reduce((a, b) => a + b, 0);
  const cpuMsBy =
    perPid === undefined ? undefined : cpuByCommand(perPid, (pid) => commands.get(pid) ?? 'ended');
  return {
    figure: roundFigure(result, cpuMs, cpuMsBy),
    ...(result.firstError === undefined ? {} : { firstError: result.firstError }),
  };
}

function fmt(value: number | undefined, digits = 3): string {
  return value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : formatNumber(Number(value.toPrecision(digits)));
}

export const peerGroup: Group = {
  name: 'peer',
  description:
    'side by side with another FHIR R4 server (--peer-url <base> [--peer-token] [--peer-pids]): read, create, search, transaction',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const peerOptions = parsePeerOptions(ctx.options.peerArgs ?? []);
    if (peerOptions === undefined)
      return { figures: [], charts: [], notes: ['Not run: no --peer-url given (see docs/benchmarks.md).'] };
    const quick = ctx.options.quick;
    const warmupMs = quick ? 300 : 1000;
    const durationMs = quick ? 1500 : 5000;
    const notes: string[] = [];
    const loadBefore = loadavg()[0] as number;
    const cleanups: (() => Promise<void>)[] = [];
    const cleanup = async (): Promise<void> => {
      for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
    };
    const release = ctx.onInterrupt(cleanup);
    try {
      ctx.progress('peer: starting a CareLedger node in its own process (embedded chain, contracts)');
      const node = await startCareLedgerProcess(
        peerOptions.careledgerWorkers === undefined ? {} : { workers: peerOptions.careledgerWorkers },
      );
      cleanups.push(() => node.stop());
      const load = await startHttpLoad();
      cleanups.push(() => load.close());
      const sides: Side[] = [
        sideOf('CareLedger', node.fhirBase, { ...CARELEDGER_STAFF_HEADERS }, [...node.pids]),
        sideOf('peer', peerOptions.url, { ...peerOptions.headers }, [...peerOptions.pids]),
      ];
      const bundle = loadTransactionBundle();
      const observations = quick ? 12 : 37;
      const data = new Map<Side, SideData>();
      for (const side of sides) {
        ctx.progress(`peer: loading the data into ${side.name} (${side.origin}${side.prefix})`);
        data.set(side, await loadData(side, bundle, observations));
      }
      const work = workloads(bundle, quick);
      const rounds = new Map<string, RoundFigure[]>();
      for (let round = 0; round < ROUNDS; round++) {
        for (const workload of work) {
          for (const side of roundOrder(round, sides[0] as Side, sides[1] as Side)) {
            ctx.progress(`peer: round ${round + 1}/${ROUNDS}, ${workload.key}, ${side.name}`);
            const job: LoadJob = {
              ...workload.job(side, data.get(side) as SideData),
              warmupMs,
              durationMs,
              connectPath: `${side.prefix}/metadata`,
            };
            const { figure, firstError } = await measure(load, side, job);
            if (figure.ok === 0)
              throw new Error(`${side.name} ${workload.key}: no request succeeded; first: ${firstError}`);
            if (figure.errors > 0)
              notes.push(
                `${side.name} ${workload.key}, round ${round + 1}: ${figure.errors} failed request(s); first: ${firstError}`,
              );
            const key = `${workload.key}.${side.name}`;
            rounds.set(key, [...(rounds.get(key) ?? []), figure]);
          }
        }
      }

      const figures: Figure[] = [];
      const table: string[] = [
        '| workload | CareLedger | peer | CareLedger / peer | CPU ms per request, CareLedger / peer |',
        '| --- | ---: | ---: | ---: | ---: |',
      ];
      for (const workload of work) {
        const ours = medianOfRounds(rounds.get(`${workload.key}.CareLedger`) ?? []);
        const theirs = medianOfRounds(rounds.get(`${workload.key}.peer`) ?? []);
        const rateRatio = ratio(ours.rate, theirs.rate);
        const cpuRatio = ratio(ours.cpuMsPerRequest, theirs.cpuMsPerRequest);
        for (const [side, median, other] of [
          ['CareLedger', ours, theirs],
          ['peer', theirs, ours],
        ] as const) {
          const perRound = rounds.get(`${workload.key}.${side}`) ?? [];
          const ratios: Ratio[] = [];
          const r = ratio(median.rate, other.rate);
          if (r !== undefined)
            ratios.push({
              value: r,
              text: `${fmt(r)} × the ${side === 'peer' ? 'CareLedger' : 'peer'} rate`,
            });
          figures.push({
            group: 'peer',
            id: `peer.${workload.key}.${side === 'peer' ? 'peer' : 'careledger'}`,
            label: `${workload.label}, ${side}${workload.key === 'transaction' ? '' : `, ${CONNECTIONS} conn.`}`,
            value: median.rate,
            unit: workload.unit,
            extra: {
              p50Ms: Number(median.p50Ms.toFixed(2)),
              p99Ms: Number(median.p99Ms.toFixed(2)),
              cpuMsPerRequest:
                median.cpuMsPerRequest === undefined
                  ? 'not measured'
                  : Number(median.cpuMsPerRequest.toFixed(3)),
              cpuMsPerRequestByProcess: formatCpuBy(median.cpuMsPerRequestBy),
              ratesPerRound: perRound.map((f) => fmt(f.rate)).join(' / '),
              answers: median.ok,
              errors: median.errors,
              ...(workload.key === 'transaction'
                ? { entriesPerSecond: Math.round(median.rate * TRANSACTION_ENTRIES) }
                : {}),
            },
            ratios,
            note: `median of ${ROUNDS} interleaved rounds`,
          });
        }
        table.push(
          `| ${workload.label} | ${fmt(ours.rate)} ${workload.unit} (p50 ${fmt(ours.p50Ms)} ms, p99 ${fmt(ours.p99Ms)} ms) ` +
            `| ${fmt(theirs.rate)} (p50 ${fmt(theirs.p50Ms)} ms, p99 ${fmt(theirs.p99Ms)} ms) | ${fmt(rateRatio)} ` +
            `| ${fmt(ours.cpuMsPerRequest)} / ${fmt(theirs.cpuMsPerRequest)}${cpuRatio === undefined ? '' : ` (${fmt(cpuRatio)} ×)`} |`,
        );
      }
      const split = work.map((workload) => {
        const by = (side: Side['name']) =>
          formatCpuBy(medianOfRounds(rounds.get(`${workload.key}.${side}`) ?? []).cpuMsPerRequestBy);
        return `${workload.key}: CareLedger ${by('CareLedger')}; peer ${by('peer')}`;
      });
      process.stderr.write(
        `\n${table.join('\n')}\n\nCPU ms per request by process (medians of rounds):\n${split.join('\n')}\n\n`,
      );
      notes.push(
        `Side by side: ${table.join(' ')}`,
        `CPU ms per request by process (medians of rounds): ${split.join(' | ')}`,
        `CareLedger: a solo node this group started (${node.fhirBase}, its own process with ${peerOptions.careledgerWorkers === undefined ? 'its default workers (one per core)' : `--workers ${peerOptions.careledgerWorkers}`}; CPU of the node process, ` +
          'its children and its anvil), encryption, validation, the access check and durable audit on, ' +
          `development identity headers. Peer: ${peerOptions.url}` +
          (peerOptions.pids.length === 0
            ? ', its CPU is NOT measured (no --peer-pids given).'
            : `, CPU of processes ${peerOptions.pids.join(', ')} and their children.`) +
          ` ${ROUNDS} rounds, workloads interleaved, the side going first alternating by round; ${CONNECTIONS} ` +
          `keep-alive connections, one request in flight each, after ${warmupMs} ms warm-up the answers of ` +
          `${durationMs / 1000} s counted (transactions: a fixed count on 1 connection). Data per side: ` +
          `${CONNECTIONS * 4} Patients read in turn, one Patient with ${observations} Observations searched, ` +
          `${TRANSACTION_ENTRIES}-entry Synthea Bundles with fresh urn:uuid ids. 1-minute load average ` +
          `${formatNumber(loadBefore)} before, ${formatNumber(loadavg()[0] as number)} after: compare the CPU ` +
          'columns on a shared machine, rates only on a quiet one.',
      );
      return { figures, charts: [], notes };
    } finally {
      release();
      await cleanup();
    }
  },
};
