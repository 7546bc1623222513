/**
 * `npm run bench -- --only fhir-scale [--quick] [--size fhir-scale=<largest>]`: issue 16 item 3's
 * "cost that follows the result". The same three requests, each returning the same result, against
 * one node whose store holds 10^3, 10^5 and 10^6 resources (`--quick`: 10^3 and 10^4; `--size
 * fhir-scale=N` keeps the sizes up to N):
 *
 * - read Patient by id (64 Patients read in turn),
 * - create Patient (the peer comparison's 113-byte body),
 * - `Observation?subject=Patient/<target>&_count=20`: the same 20 of the target's 37 Observations.
 *
 * The node is `careledger node start --workers 1` in a process of its own on a solo folder (embedded
 * chain, contracts deployed, every protection on: decryption, the access decision, a signed
 * AuditEvent committed durably to the transparency log before each answer), loaded over real HTTP
 * with 16 requests in flight. Its CPU per request is utime + stime of /proc/<pid>/stat over the node's
 * process tree (not anvil, not this process), the figure that does not swing with the machine's load
 * as requests/s does; p50/p99 are the answers' wall-clock latencies at 16 in flight. Each size prints
 * its ratio to the 10^3 figure (near 1: the cost follows the result, not the store), the database's
 * size, and this machine's raw SQLite commit time beside the latencies.
 *
 * The store is grown between sizes with the node stopped, by this process, through the node's own
 * stores and keys (openNodeBase, openVault, a TransparencyLog with the node's signing key, the
 * SealedRecordStore the repository writes through):
 *
 * - What the filler IS: Patients and Observations, each version sealed with AES-256-GCM under its own
 *   patient's data key (one data key per filler patient, wrapped by the node's key provider), its
 *   version hash entered in the node's transparency log, its current-record row and blind-index rows
 *   written in the same commit, exactly the rows and log entries the repository's own writes make.
 *   FILLER_PATIENTS distinct patients (each 1 Patient + FILLER_OBSERVATIONS Observations of varied
 *   codes, values and dates) are indexed with FHIRPath once; every further copy gets new ids (and
 *   references to them), is sealed, hashed and logged for real, and has its blind-index rows derived
 *   from the template's messages with the copy's ids and keyed-hashed (export-seed.ts's clone
 *   seeder, checked row for row against a full extraction on the first copy), 5,000 versions per
 *   log commit. The target patient, its 37 Observations and the 64 read Patients are sealed the
 *   same way (full FHIRPath extraction).
 * - What it IS NOT: written through HTTP, validated, access-checked or audited (no AuditEvent per
 *   seeded record, so the audit index holds only the measured requests' entries); committed with
 *   fsync (the seeding connection runs `synchronous = OFF`: a bulk load, not an acknowledged write;
 *   the node's own connection keeps FULL); varied beyond FILLER_PATIENTS distinct contents (copies
 *   differ in ids and references only, so their ciphertexts and hashes differ but their sizes repeat).
 *
 * Every measured request writes an AuditEvent, so the store also grows by the requests themselves
 * (a few thousand AuditEvents per size): the sizes count the clinical resources seeded, and each
 * figure's details give the AuditEvents already stored.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import Database from 'better-sqlite3';
import { TransparencyLog } from '../../src/log/index.js';
import { openNodeBase } from '../../src/node/compose/node-base.js';
import { openVault } from '../../src/node/open-vault.js';
import { verifyHostSecrets } from '../../src/node/start-node.js';
import { SealedRecordStore } from '../../src/vault/sealed-record-store.js';
import { findFreePort } from '../../test/support/free-port.js';
import { prepareSoloNode, type SoloNodeFolder } from '../../test/support/start-solo-node.js';
import { costRatio, formatNumber, percentile } from '../measure.js';
import { CARELEDGER_STAFF_HEADERS, waitForListening } from '../support/careledger-process.js';
import { cpuBetween, processTree, snapshotCpu } from '../support/proc-cpu.js';
import type { Figure, Group, GroupContext, GroupResult, Ratio } from '../types.js';
import { createCloneSeeder, type SeedTarget, seedResources } from './export-seed.js';

const GROUP = 'fhir-scale';
const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
export const IN_FLIGHT = 16;
/** The searched patient's Observations; the search's page is PAGE of them. */
export const TARGET_OBSERVATIONS = 37;
export const PAGE = 20;
/** Patients read in turn by the read workload. */
export const READ_PATIENTS = 64;
/** Distinct filler patients indexed with FHIRPath; copies of them make up the rest. */
export const FILLER_PATIENTS = 200;
export const FILLER_OBSERVATIONS = 24;
/** Versions per seeding log commit. */
const SEED_COMMIT = 5_000;
const NEW_PATIENT = JSON.stringify({
  resourceType: 'Patient',
  name: [{ family: 'Benchmark', given: ['Dana'] }],
  gender: 'female',
  birthDate: '1980-04-01',
});
const HEADERS = {
  ...CARELEDGER_STAFF_HEADERS,
  'content-type': 'application/fhir+json',
  accept: 'application/fhir+json',
};

/**
 * The sizes measured: 10^3, 10^5, 10^6 (quick: 10^3, 10^4); `largest` (from `--size fhir-scale=`)
 * keeps those up to it, and adds it when it is none of them.
 */
export function scaleLevels(quick: boolean, largest?: number): number[] {
  const defaults = quick ? [1_000, 10_000] : [1_000, 100_000, 1_000_000];
  if (largest === undefined) return defaults;
  const kept = defaults.filter((n) => n <= largest);
  if (!kept.includes(largest)) kept.push(largest);
  return kept;
}

/** `1000` → `10^3`; other numbers grouped (`25,000`). */
export function formatSize(n: number): string {
  const exponent = Math.log10(n);
  return Number.isInteger(exponent) && exponent >= 1 ? `10^${exponent}` : n.toLocaleString('en-US');
}

const CODES = [
  ['8867-4', 'Heart rate', '/min', 60, 40],
  ['8480-6', 'Systolic blood pressure', 'mm[Hg]', 110, 40],
  ['8462-4', 'Diastolic blood pressure', 'mm[Hg]', 70, 25],
  ['2339-0', 'Glucose', 'mg/dL', 80, 60],
  ['29463-7', 'Body weight', 'kg', 50, 50],
  ['8302-2', 'Body height', 'cm', 150, 40],
  ['39156-5', 'Body mass index', 'kg/m2', 18, 15],
  ['2093-3', 'Cholesterol', 'mg/dL', 150, 100],
] as const;
const FAMILIES = ['Okafor', 'Lindqvist', 'Tanaka', 'Moreau', 'Silva', 'Novak', 'Haddad', 'Kowalski'];
const GIVEN = ['Ada', 'Bo', 'Chiara', 'Dmitri', 'Eun', 'Farah', 'Gus', 'Hana', 'Ines', 'Jonas'];

/** One vital-sign/laboratory Observation of `patient`, varied deterministically by `n`. */
export function scaleObservation(id: string, patient: string, n: number): Resource {
  const [code, display, unit, base, spread] = CODES[n % CODES.length] as (typeof CODES)[number];
  const day = 1 + (n % 28);
  const month = 1 + (Math.floor(n / 28) % 12);
  return {
    resourceType: 'Observation',
    id,
    status: 'final',
    category: [
      {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/observation-category',
            code: code === '2339-0' || code === '2093-3' ? 'laboratory' : 'vital-signs',
          },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code, display }] },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: `2026-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T${String(n % 24).padStart(2, '0')}:15:00Z`,
    valueQuantity: {
      value: base + ((n * 7919) % (spread * 10)) / 10,
      unit,
      system: 'http://unitsofmeasure.org',
      code: unit,
    },
  } as Resource;
}

/** One Patient, varied deterministically by `n`. */
export function scalePatient(id: string, n: number): Resource {
  return {
    resourceType: 'Patient',
    id,
    identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.1', value: `999-${String(n).padStart(6, '0')}` }],
    name: [{ family: FAMILIES[n % FAMILIES.length], given: [GIVEN[n % GIVEN.length] as string] }],
    gender: n % 2 === 0 ? 'female' : 'male',
    birthDate: `${1930 + (n % 80)}-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')}`,
    address: [{ city: `Town ${n % 97}`, postalCode: String(10_000 + ((n * 31) % 89_999)) }],
  } as Resource;
}

/**
 * The filler template as NDJSON lines (the clone seeder's input): `patients` patients, each a Patient
 * `p<k>` and `observations` Observations `p<k>-o<j>` referring to it.
 */
export function fillerTemplateLines(patients: number, observations: number): string[] {
  const lines: string[] = [];
  for (let k = 0; k < patients; k++) {
    lines.push(JSON.stringify(scalePatient(`p${k}`, k)));
    for (let j = 0; j < observations; j++)
      lines.push(JSON.stringify(scaleObservation(`p${k}-o${j}`, `p${k}`, k * observations + j)));
  }
  return lines;
}

/** The fixed records every size serves: the target patient, its Observations and the read Patients. */
export function scaleFixture(): Resource[] {
  return [
    scalePatient('target', 0),
    ...Array.from({ length: TARGET_OBSERVATIONS }, (_, i) => scaleObservation(`target-o${i}`, 'target', i)),
    ...Array.from({ length: READ_PATIENTS }, (_, i) => scalePatient(`read-${i}`, i + 1)),
  ];
}

/** Median, p50 and p99 of a workload's samples. */
export function summarize(
  cpuPerRequestByRound: readonly number[],
  latencies: readonly number[],
): { cpuMs: number; p50: number; p99: number } {
  return {
    cpuMs: percentile(cpuPerRequestByRound, 50),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

/** A figure's ratio to its value at the smallest size. */
export function ratioToBase(value: number, base: number, baseLevel: number, what: string): Ratio {
  const ratio = value / base;
  return { value: ratio, text: `${ratio.toFixed(2)} × its ${what} at ${formatSize(baseLevel)} stored` };
}

/** The node's store opened in this process on its stopped folder, to seed it. */
export async function openSeeder(nodeDir: string) {
  const say = () => undefined;
  const base = await openNodeBase(nodeDir, {}, say);
  // A bulk load: this connection does not fsync each commit (the node's own keeps synchronous = FULL).
  base.db.pragma('synchronous = OFF');
  // Blind-index rows land at random places in their indexes: a large page cache keeps those inserts
  // from reading pages back from the OS at 10^6 resources (this connection only).
  base.db.pragma('cache_size = -1000000');
  const crypto = await openVault(nodeDir, base.db, {
    dataKeys: (provider) => base.stores.dataKeys(provider),
    ...(base.config.vaultKeys === undefined ? {} : { keys: base.config.vaultKeys }),
    log: say,
  });
  const log = await TransparencyLog.open({
    storage: base.stores.log,
    signerKey: base.logKey.signerKey,
    origin: base.config.logOrigin,
    // The node's own start re-hashes the whole log ('full'); the seeder only appends to it.
    verify: 'fast',
  });
  const store = new SealedRecordStore({
    storage: base.stores.records,
    crypto,
    log,
    observer: { display: base.config.organization, origin: base.config.logOrigin },
    now: () => new Date(),
    newId: randomUUID,
  });
  const target: SeedTarget = { store, crypto };
  return {
    target,
    async close() {
      await log.flush();
      await log.checkpoint();
      await log.stop();
      base.db.pragma('wal_checkpoint(TRUNCATE)');
      base.db.close();
      await base.stores.close();
    },
  };
}

/** `careledger node start --workers 1` on the folder; resolves once it listens. */
async function startNodeProcess(folder: SoloNodeFolder, port: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'node', 'start', '--dir', folder.nodeDir, '--workers', '1'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
  );
  const started = performance.now();
  try {
    await waitForListening(child);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  child.removeAllListeners('exit');
  return {
    pid: child.pid as number,
    startSeconds: (performance.now() - started) / 1000,
    fhirBase: `http://127.0.0.1:${port}/fhir`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

type Request = (i: number) => Promise<Response>;

/** `count` requests, IN_FLIGHT at a time; each answer's latency in `latencies`. 503s are sent again. */
async function load(count: number, request: Request, latencies: number[]): Promise<number> {
  let next = 0;
  let shed = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const i = next++;
        for (;;) {
          const t0 = performance.now();
          let response: Response;
          try {
            response = await request(i);
          } catch (error) {
            if ((error as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw error;
            continue;
          }
          const text = await response.text();
          if (response.ok) {
            latencies.push(performance.now() - t0);
            break;
          }
          if (response.status !== 503)
            throw new Error(`request ${i}: ${response.status} ${text.slice(0, 200)}`);
          shed++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }),
  );
  return shed;
}

function databaseStats(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      records: count(
        "SELECT COUNT(*) AS n FROM vault_records WHERE is_current = 1 AND resource_type <> 'AuditEvent'",
      ),
      auditEvents: count("SELECT COUNT(*) AS n FROM vault_records WHERE resource_type = 'AuditEvent'"),
      indexRows: count('SELECT COUNT(*) AS n FROM vault_search_index'),
      logEntries: count('SELECT COUNT(*) AS n FROM log_leaves'),
    };
  } finally {
    db.close();
  }
}

function fileBytes(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

const WORKLOADS = [
  { key: 'read', label: 'read Patient by id' },
  { key: 'create', label: 'create Patient' },
  { key: 'search', label: `search Observation?subject=…&_count=${PAGE} (${PAGE} of ${TARGET_OBSERVATIONS})` },
] as const;

/** One node's folder, its store's seeding state and, while measured, its process. */
interface Side {
  readonly name: 'scaled' | 'reference';
  readonly folder: SoloNodeFolder;
  readonly port: number;
  readonly dbPath: string;
  fixtureSeeded: boolean;
  clones?: ReturnType<typeof createCloneSeeder>;
  node?: Awaited<ReturnType<typeof startNodeProcess>>;
}

async function prepareSide(name: Side['name']): Promise<Side> {
  const port = await findFreePort();
  const folder = await prepareSoloNode({ port, publicUrl: `http://127.0.0.1:${port}` });
  // The node's secrets and vault root secret are made and recorded as a first start would.
  await verifyHostSecrets(folder.nodeDir, {}, () => undefined);
  return { name, folder, port, dbPath: join(folder.nodeDir, 'node.db'), fixtureSeeded: false };
}

let template: { shared: string[]; perCopy: string[]; patients: number } | undefined;

/** The filler template (built on first use, not when run.ts imports every group). */
function fillerTemplate() {
  template ??= {
    shared: [],
    perCopy: fillerTemplateLines(FILLER_PATIENTS, FILLER_OBSERVATIONS),
    patients: FILLER_PATIENTS,
  };
  return template;
}

/**
 * Grows a stopped node's store to `level` clinical resources (the fixture first); returns the
 * resources written. Copy prefixes are unique per node (`copies` counts them).
 */
async function seedTo(
  side: Side,
  level: number,
  copies: { n: number },
  progress: (line: string) => void,
): Promise<number> {
  const seeder = await openSeeder(side.folder.nodeDir);
  let written = 0;
  try {
    if (!side.fixtureSeeded) {
      const fixture = scaleFixture();
      await seedResources(seeder.target, fixture);
      side.fixtureSeeded = true;
      written += fixture.length;
    }
    // The clone seeder keeps the template's rows (FHIRPath once); its keyed hash is this vault's.
    side.clones ??= createCloneSeeder(seeder.target, fillerTemplate());
    // The store holds the seeded records and the Patients created by earlier sizes' requests.
    let stored = databaseStats(side.dbPath).records;
    const t0 = performance.now();
    let lastReport = t0;
    while (stored < level) {
      const { resources, index } = side.clones.copy(`s${copies.n++}-`);
      const take = Math.min(resources.length, level - stored);
      for (let i = 0; i < take; i += SEED_COMMIT) {
        const end = Math.min(take, i + SEED_COMMIT);
        await seedResources(seeder.target, resources.slice(i, end), index.slice(i, end));
      }
      written += take;
      stored += take;
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now();
        progress(
          `${GROUP}: ${side.name} node: ${stored.toLocaleString('en')} of ${level.toLocaleString('en')} stored (${Math.round(written / ((lastReport - t0) / 1000))}/s)`,
        );
      }
    }
  } finally {
    await seeder.close();
  }
  return written;
}

function workloadsOf(fhir: string): Record<string, Request> {
  return {
    read: (i) => fetch(`${fhir}/Patient/read-${i % READ_PATIENTS}`, { headers: HEADERS }),
    create: () => fetch(`${fhir}/Patient`, { method: 'POST', headers: HEADERS, body: NEW_PATIENT }),
    search: () => fetch(`${fhir}/Observation?subject=Patient/target&_count=${PAGE}`, { headers: HEADERS }),
  };
}

/** The same result at every size, or the comparison means nothing. */
async function checkSearch(fhir: string): Promise<void> {
  const response = await fetch(`${fhir}/Observation?subject=Patient/target&_count=${PAGE}&_total=accurate`, {
    headers: HEADERS,
  });
  const bundle = (await response.json()) as { total?: number; entry?: unknown[] };
  if (bundle.total !== TARGET_OBSERVATIONS || bundle.entry?.length !== PAGE)
    throw new Error(
      `the search answered ${bundle.entry?.length} of ${bundle.total}, not ${PAGE} of ${TARGET_OBSERVATIONS}`,
    );
}

/** Requests sent to one side before the other takes its turn (both see the same machine). */
const CHUNK = 100;

export const fhirScaleGroup: Group = {
  name: GROUP,
  description:
    'Read, create and subject search (same results) at 10^3, 10^5, 10^6 stored resources, beside a 10^3 node in the same window: node CPU per request, p50/p99 (issue 16 item 3; --size fhir-scale=<largest>)',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const { quick } = ctx.options;
    const levels = scaleLevels(quick, ctx.options.sizes?.[GROUP]);
    const smallest = levels[0] as number;
    const requests = quick ? 300 : 1_000;
    const rounds = quick ? 2 : 3;
    const commit = await ctx.limit('limits.sqlite.commit');
    const sides: Side[] = [];
    const cleanup = async (): Promise<void> => {
      for (const side of sides) {
        await side.node?.stop();
        await side.folder.chain.stop();
        rmSync(side.folder.dir, { recursive: true, force: true });
      }
    };
    const release = ctx.onInterrupt(cleanup);
    const figures: Figure[] = [];
    const notes: string[] = [];
    const base = new Map<string, { cpuMs: number; p50: number; p99: number }>();
    try {
      const scaled = await prepareSide('scaled');
      sides.push(scaled);
      const reference = await prepareSide('reference');
      sides.push(reference);
      const copies = { n: 0 };
      let seeded = 0;
      let seedSeconds = 0;
      await seedTo(reference, smallest, { n: 0 }, ctx.progress);
      for (const level of levels) {
        // Grow the scaled node's store to `level` clinical resources, both nodes stopped.
        const t0 = performance.now();
        seeded += await seedTo(scaled, level, copies, ctx.progress);
        seedSeconds += (performance.now() - t0) / 1000;
        const stats = databaseStats(scaled.dbPath);
        const dbBytes = fileBytes(scaled.dbPath) + fileBytes(`${scaled.dbPath}-wal`);
        ctx.progress(
          `${GROUP}: ${stats.records.toLocaleString('en')} records (${stats.indexRows.toLocaleString('en')} index rows, ${formatNumber(dbBytes / 1e6)} MB) after ${formatNumber(seedSeconds)} s of seeding; starting the nodes`,
        );
        for (const side of sides) {
          side.node = await startNodeProcess(side.folder, side.port);
          await checkSearch(side.node.fhirBase);
        }
        ctx.progress(
          `${GROUP}: the scaled node listens after ${formatNumber(scaled.node?.startSeconds ?? 0)} s, the reference after ${formatNumber(reference.node?.startSeconds ?? 0)} s; warming up`,
        );
        const running = sides.map((side) => ({
          side,
          pid: (side.node as NonNullable<Side['node']>).pid,
          workloads: workloadsOf((side.node as NonNullable<Side['node']>).fhirBase),
        }));
        const loadBefore = loadavg()[0] as number;
        // Warm-up: compiled code, caches and connections in place before anything counts.
        for (const r of running)
          for (const w of WORKLOADS) await load(Math.min(300, requests), r.workloads[w.key] as Request, []);
        const cpu = new Map<string, number[]>();
        const latencies = new Map<string, number[]>();
        let shed = 0;
        for (let round = 0; round < rounds; round++)
          for (const w of WORKLOADS) {
            // The sides take turns every CHUNK requests, the order alternating, so that the machine's
            // load (which moves CPU per request too) weighs on both alike.
            const used = running.map(() => 0);
            for (let done = 0; done < requests; done += CHUNK) {
              const count = Math.min(CHUNK, requests - done);
              const order = (done / CHUNK + round) % 2 === 0 ? [0, 1] : [1, 0];
              for (const k of order) {
                const r = running[k] as (typeof running)[number];
                const pids = processTree(r.pid);
                const before = snapshotCpu(pids);
                const key = `${r.side.name}.${w.key}`;
                const samples = latencies.get(key) ?? [];
                latencies.set(key, samples);
                shed += await load(count, r.workloads[w.key] as Request, samples);
                used[k] = (used[k] as number) + cpuBetween(before, snapshotCpu(pids)).totalMs;
              }
            }
            running.forEach((r, k) => {
              const key = `${r.side.name}.${w.key}`;
              cpu.set(key, [...(cpu.get(key) ?? []), (used[k] as number) / requests]);
            });
            ctx.progress(
              `${GROUP}: ${formatSize(level)} ${w.key} round ${round + 1}: ${((used[0] as number) / requests).toFixed(3)} ms CPU/request (10^3 reference node ${((used[1] as number) / requests).toFixed(3)}), load ${loadavg()[0]?.toFixed(1)}`,
            );
          }
        const loadAfter = loadavg()[0] as number;
        for (const side of sides) {
          await side.node?.stop();
          side.node = undefined;
        }

        for (const w of WORKLOADS) {
          const s = summarize(cpu.get(`scaled.${w.key}`) ?? [], latencies.get(`scaled.${w.key}`) ?? []);
          const ref = summarize(
            cpu.get(`reference.${w.key}`) ?? [],
            latencies.get(`reference.${w.key}`) ?? [],
          );
          if (!base.has(w.key)) base.set(w.key, s);
          const b = base.get(w.key) as { cpuMs: number; p50: number; p99: number };
          const extra = {
            storedResources: stats.records,
            auditEventsStored: stats.auditEvents,
            indexRows: stats.indexRows,
            logEntries: stats.logEntries,
            databaseMB: Number((dbBytes / 1e6).toFixed(1)),
            requests: requests * rounds,
            cpuMsByRound: (cpu.get(`scaled.${w.key}`) ?? []).map((x) => x.toFixed(3)).join(' '),
            referenceCpuMs: Number(ref.cpuMs.toFixed(3)),
            referenceCpuMsByRound: (cpu.get(`reference.${w.key}`) ?? []).map((x) => x.toFixed(3)).join(' '),
            referenceP50Ms: Number(ref.p50.toFixed(1)),
            referenceP99Ms: Number(ref.p99.toFixed(1)),
            shedAndRetried: shed,
            loadAverage: `${loadBefore.toFixed(1)}→${loadAfter.toFixed(1)}`,
          };
          figures.push(
            {
              group: GROUP,
              id: `${GROUP}.${w.key}.cpu.${level}`,
              label: `${w.label} at ${formatSize(level)} stored: node CPU per request`,
              value: s.cpuMs,
              unit: 'ms CPU',
              extra,
              ratios: [
                {
                  value: s.cpuMs / ref.cpuMs,
                  text: `${(s.cpuMs / ref.cpuMs).toFixed(2)} × the ${formatSize(smallest)} reference node's in the same window (${ref.cpuMs.toFixed(2)} ms)`,
                },
                ratioToBase(s.cpuMs, b.cpuMs, smallest, 'CPU per request'),
              ],
            },
            {
              group: GROUP,
              id: `${GROUP}.${w.key}.latency.${level}`,
              label: `${w.label} at ${formatSize(level)} stored: latency, ${IN_FLIGHT} in flight`,
              value: s.p50,
              p99: s.p99,
              unit: 'ms',
              extra,
              ratios: [
                {
                  value: s.p50 / ref.p50,
                  text: `${(s.p50 / ref.p50).toFixed(2)} × the reference node's p50, ${(s.p99 / ref.p99).toFixed(2)} × its p99 (same window)`,
                },
                ratioToBase(s.p50, b.p50, smallest, 'p50'),
                costRatio(s.p50 / 1000, commit, 'SQLite single-commit time'),
              ],
            },
          );
        }
        figures.push({
          group: GROUP,
          id: `${GROUP}.database.${level}`,
          label: `database at ${formatSize(level)} stored (node.db + WAL, after the requests)`,
          value: (fileBytes(scaled.dbPath) + fileBytes(`${scaled.dbPath}-wal`)) / 1e6,
          unit: 'MB',
          extra: {
            ...databaseStats(scaled.dbPath),
            seededBeforeRequestsMB: Number((dbBytes / 1e6).toFixed(1)),
          },
          ratios: [],
        });
      }
      notes.push(
        `${GROUP}: two nodes (--workers 1 each, every protection on) over HTTP, ${IN_FLIGHT} in flight: the scaled one at ${levels.map(formatSize).join(', ')} seeded resources and a reference kept at ${formatSize(smallest)}, ` +
          `taking turns every ${CHUNK} requests, ${rounds} rounds × ${requests} requests per workload, side and size (median round's CPU per request of the node's process tree; latencies of all rounds). ` +
          `Filler: ${FILLER_PATIENTS} distinct patients of 1 Patient + ${FILLER_OBSERVATIONS} Observations copied with new ids (${copies.n} copies, ${formatNumber(seeded / seedSeconds)} resources/s seeded, ` +
          `${scaled.clones?.slowLines ?? 0} template lines indexed in full per copy). A ratio near 1 means the cost follows the result, not the store.`,
      );
      return { figures, charts: [], notes };
    } finally {
      release();
      await cleanup();
    }
  },
};
