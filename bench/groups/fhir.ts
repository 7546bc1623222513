/**
 * The FHIR API of one member node over real HTTP (issue "Core 3"): create, read, search and transaction
 * import at 1, 16 and 64 keep-alive connections, with encryption, validation, the access check (and, for
 * another member's reads, the ledger consent check) and durable audit all on; beside a bare node:http
 * server on the same machine (the ceiling of any HTTP API here, as far as one load-generating thread can
 * tell: its clientElu says when the client, not the server, was the bound) and the run's raw SQLite
 * commit rates.
 *
 * The node runs on this thread; the requests come from a worker thread (bench/http-load.ts), so the
 * client's own work does not take the server's event-loop time. Each figure's details give the
 * server thread's event-loop utilisation over the window, which says whether the server was saturated.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { SUPPORTED_RESOURCE_TYPES } from '../../src/http/routes/fhir-routes.js';
import { signGrantForNewPatient } from '../../test/support/consent-signer.js';
import { enrolPatientKeyOverHttp } from '../../test/support/enrol-patient-key.js';
import { SYNTHEA_DIR } from '../../test/support/shared-data.js';
import { type SoloNode, startSoloNode } from '../../test/support/start-solo-node.js';
import { formatProfileShares, startCpuProfile, summarizeCpuProfile } from '../cpu-profile.js';
import { type HttpLoad, type LoadJob, type MeasuredLoad, startHttpLoad } from '../http-load.js';
import { type LogCommitCounts, startLogCommitProbe } from '../log-commit-probe.js';
import { costRatio, formatNumber, percentile, rateRatio, sleep } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult, Ratio } from '../types.js';

const SYNTHEA_FILE = 'Andy_Schaden_d630c6ca-046c-470a-8f3a-4dbc3850e7ae.json';
/** LOINC 2339-0 Glucose: ten Observations in that Synthea record. */
const CODE = 'http://loinc.org|2339-0';
const CHAIN_ID = 31337;
const STAFF = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'x-careledger-purpose': 'TREAT',
};
const FHIR_JSON = { 'content-type': 'application/fhir+json' };
const ON_NOTE = 'encryption, validation, the access check and durable audit all on';
/** The levels: one client, a ward's worth, and a busy hospital's integration engine. */
const LEVELS = [1, 16, 64] as const;

interface Operation {
  readonly key: string;
  readonly label: string | (() => string);
  readonly job: Omit<LoadJob, 'connections' | 'warmupMs' | 'durationMs' | 'connectPath'>;
  /** A counted job instead of a timed window: requests per connection at a given number of connections. */
  readonly requestsPerConnection?: (connections: number) => number;
  /** Entries per request (transaction Bundles), for entries/s. */
  readonly entries?: number;
  /** Matches of a search, for the details. */
  readonly matches?: number;
  readonly onResult?: (result: MeasuredLoad) => void;
  /** Connection counts to measure at (default 1 and 16). */
  readonly levels?: readonly number[];
  /** Runs before the first measurement of the operation. */
  readonly before?: () => Promise<void>;
}

/** A bare node:http server answering 200 "ok": the most any Node HTTP API can answer on this machine. */
async function startHttpFloor(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function loadBundle(): string {
  const source = JSON.parse(readFileSync(join(SYNTHEA_DIR, SYNTHEA_FILE), 'utf8')) as {
    entry: { resource: { resourceType: string } }[];
  };
  // Only the types the node serves; CarePlan goes too, as it points at Goals (not served).
  const served = new Set<string>(SUPPORTED_RESOURCE_TYPES.filter((t) => t !== 'CarePlan'));
  return JSON.stringify({
    ...source,
    entry: source.entry.filter((e) => served.has(e.resource.resourceType)),
  });
}

async function request(
  url: string,
  init: RequestInit & { expect: number },
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (response.status !== init.expect) {
    throw new Error(
      `${init.method ?? 'GET'} ${url}: expected ${init.expect}, got ${response.status} ${text.slice(0, 300)}`,
    );
  }
  return { status: response.status, text, headers: response.headers };
}

async function createResource(base: string, resource: Record<string, unknown>): Promise<string> {
  const { text } = await request(`${base}/fhir/${resource.resourceType as string}`, {
    method: 'POST',
    headers: { ...STAFF, ...FHIR_JSON },
    body: JSON.stringify(resource),
    expect: 201,
  });
  return (JSON.parse(text) as { id: string }).id;
}

async function searchTotal(base: string, query: string): Promise<number> {
  const { text } = await request(`${base}/fhir/Observation?${query}&_total=accurate&_count=1`, {
    headers: STAFF,
    expect: 200,
  });
  return (JSON.parse(text) as { total: number }).total;
}

/**
 * A fresh patient signs a grant to `grantee` for laboratory and demographics, for TREAT; the node
 * relays it (waiting for the block) and the benchmark waits until the node's ledger index allows it.
 */
async function grantConsent(
  solo: SoloNode,
  grantee: `0x${string}`,
): Promise<{ patient: `0x${string}`; key: `0x${string}`; seconds: number }> {
  const t0 = performance.now();
  const key = generatePrivateKey();
  const grant = await signGrantForNewPatient({
    patientKey: key,
    chainId: CHAIN_ID,
    consentRegistry: solo.node.deployment.contracts.consentRegistry,
    grantee,
    categories: ['laboratory', 'demographics'],
    purposes: ['TREAT'],
    nowSeconds: Math.floor(Date.now() / 1000),
  });
  await request(`${solo.node.url}/ledger/consent/grants?wait=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: grant.body,
    expect: 201,
  });
  const check = `${solo.node.url}/ledger/consent/check?patient=${grant.patient}&grantee=${grantee}&category=laboratory&purpose=TREAT`;
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    const { text } = await request(check, { expect: 200 });
    if ((JSON.parse(text) as { allowed: boolean }).allowed)
      return { patient: grant.patient, key, seconds: (performance.now() - t0) / 1000 };
    await sleep(100);
  }
  throw new Error('the node did not index the consent grant within 30 s');
}

/** The status of one request, for the checks that show the consent check is really made. */
async function statusOf(url: string, headers: Record<string, string>): Promise<number> {
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
  return response.status;
}

function round(value: number, digits = 3): number {
  return Number(value.toFixed(digits));
}

export const fhirGroup: Group = {
  name: 'fhir',
  description:
    'FHIR API over HTTP at 1, 16 and 64 connections (all protections on) beside a bare HTTP server',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const { quick } = ctx.options;
    const commit = await ctx.limit('limits.sqlite.commit');
    const batched = await ctx.limit('limits.sqlite.batched');
    const durationMs = quick ? 1000 : 4000;
    const warmupMs = quick ? 200 : 500;
    const figures: Figure[] = [];
    const notes: string[] = [];
    const loadBefore = loadavg()[0] as number;
    const bundle = loadBundle();
    const bundleEntries = (JSON.parse(bundle) as { entry: unknown[] }).entry.length;

    const cleanups: (() => Promise<void>)[] = [];
    const cleanup = async (): Promise<void> => {
      for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
    };
    const release = ctx.onInterrupt(cleanup);
    try {
      const load: HttpLoad = await startHttpLoad();
      cleanups.push(() => load.close());
      const commits = startLogCommitProbe();
      cleanups.push(async () => commits.restore());
      const floor = await startHttpFloor();
      cleanups.push(() => floor.close());
      ctx.progress('fhir: starting a solo node (embedded chain, contracts, FHIR API)');
      const solo = await startSoloNode();
      cleanups.push(() => solo.stop());
      const origin = solo.node.url;

      ctx.progress('fhir: consent grant to another member, relayed and indexed');
      const lab = privateKeyToAccount(generatePrivateKey()).address;
      const memberHeaders = {
        'x-careledger-identity': `Organization/${lab}`,
        'x-careledger-purpose': 'TREAT',
      };
      const consent = await grantConsent(solo, lab);
      const consentPatient = await createResource(origin, {
        resourceType: 'Patient',
        name: [{ family: 'Bench', given: ['Consenting'] }],
        birthDate: '1970-01-01',
      });
      // The patient's key is linked by enrolment, with their proof of possession (issue 14 item 12).
      await enrolPatientKeyOverHttp(`${origin}/fhir`, consentPatient, consent.key);

      ctx.progress('fhir: importing the Synthea record once for the searches');
      const imported = await request(`${origin}/fhir`, {
        method: 'POST',
        headers: { ...STAFF, ...FHIR_JSON },
        body: bundle,
        expect: 200,
      });
      const importedAt = (
        JSON.parse(imported.text) as { entry: { response: { location: string } }[] }
      ).entry.map((e) => e.response.location);
      const syntheaPatient = importedAt.find((l) => l.startsWith('Patient/'))?.split('/')[1];
      const syntheaObservation = importedAt.find((l) => l.startsWith('Observation/'))?.split('/')[1];
      if (syntheaPatient === undefined || syntheaObservation === undefined)
        throw new Error('the imported Synthea record has no Patient or Observation');
      const subjectQuery = `subject=Patient/${syntheaPatient}&_count=10`;
      const codeQuery = `code=${encodeURIComponent(CODE)}&_count=10`;
      const subjectMatches = await searchTotal(origin, `subject=Patient/${syntheaPatient}`);
      const codeMatches = await searchTotal(origin, `code=${encodeURIComponent(CODE)}`);
      const storedObservations = await searchTotal(origin, '');

      const observationIds: string[] = [];
      let vaultObservations = 0;
      const observation = JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject: { reference: `Patient/${consentPatient}` },
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      });
      const patient = JSON.stringify({
        resourceType: 'Patient',
        name: [{ family: 'Bench', given: ['Ada'] }],
        gender: 'female',
        birthDate: '1980-02-03',
      });
      const readPaths = (): string[] => observationIds.map((id) => `/fhir/Observation/${id}`);

      // The consent check is really made: allowed with the grant, refused for another purpose or for a
      // patient without a grant (a Synthea patient has no ledger address). A refused member read answers
      // 404, as for a resource that does not exist, so that the answer does not reveal that it does.
      const granted = `${origin}/fhir/Observation/${await createResource(origin, JSON.parse(observation))}`;
      const allowed = await statusOf(granted, memberHeaders);
      const otherPurpose = await statusOf(granted, { ...memberHeaders, 'x-careledger-purpose': 'HRESCH' });
      const ungranted = await statusOf(`${origin}/fhir/Observation/${syntheaObservation}`, memberHeaders);
      if (allowed !== 200 || otherPurpose !== 404 || ungranted !== 404)
        throw new Error(
          `the consent check did not answer as expected: ${allowed}, ${otherPurpose}, ${ungranted}`,
        );
      notes.push(
        'Consent check: another member (Organization/<address>) reading an Observation of the patient ' +
          `who granted it laboratory + demographics for TREAT got ${allowed}; with purpose HRESCH ` +
          `${otherPurpose}; an Observation of a patient without a grant ${ungranted}. The grant was ` +
          `relayed, mined and indexed ${formatNumber(consent.seconds)} s after signing.`,
      );

      const operations: Operation[] = [
        {
          key: 'floor',
          label: 'HTTP floor: bare node:http server answering 200 "ok"',
          job: { origin: floor.origin, method: 'GET', paths: ['/'], headers: {} },
        },
        {
          key: 'health',
          label: 'node GET /health (HTTP stack, no FHIR work)',
          job: { origin, method: 'GET', paths: ['/health'], headers: {} },
        },
        {
          key: 'search-subject',
          label: `search Observation?subject= (${subjectMatches} matches of ${storedObservations}, _count=10)`,
          job: { origin, method: 'GET', paths: [`/fhir/Observation?${subjectQuery}`], headers: STAFF },
          matches: subjectMatches,
        },
        {
          key: 'search-code',
          label: `search Observation?code= (${codeMatches} matches of ${storedObservations}, _count=10)`,
          job: { origin, method: 'GET', paths: [`/fhir/Observation?${codeQuery}`], headers: STAFF },
          matches: codeMatches,
        },
        {
          key: 'create-patient',
          label: 'create Patient (POST /fhir/Patient)',
          job: {
            origin,
            method: 'POST',
            paths: ['/fhir/Patient'],
            headers: { ...STAFF, ...FHIR_JSON },
            body: patient,
          },
        },
        {
          key: 'create',
          label: 'create Observation (POST /fhir/Observation)',
          job: {
            origin,
            method: 'POST',
            paths: ['/fhir/Observation'],
            headers: { ...STAFF, ...FHIR_JSON },
            body: observation,
            collectLocations: true,
          },
          onResult: (result) => {
            for (const location of result.locations) {
              const id = /\/Observation\/([^/]+)\/_history\//.exec(location)?.[1];
              if (id !== undefined) observationIds.push(id);
            }
          },
        },
        {
          key: 'read',
          label: 'read Observation (GET by id, own clinician)',
          job: { origin, method: 'GET', paths: [], headers: STAFF },
        },
        {
          key: 'read-member',
          label: 'read Observation (other member, consent checked)',
          job: { origin, method: 'GET', paths: [], headers: memberHeaders },
        },
        {
          key: 'search-code-grown',
          // The same search once the create step has added its Observations: search cost follows the
          // number of Observations stored, not the matches (see docs/benchmarks.md).
          label: () => `search Observation?code= (${codeMatches} matches of ${vaultObservations}, _count=10)`,
          job: { origin, method: 'GET', paths: [`/fhir/Observation?${codeQuery}`], headers: STAFF },
          matches: codeMatches,
          levels: [1],
          before: async () => {
            vaultObservations = await searchTotal(origin, '');
          },
        },
        {
          key: 'transaction',
          label: `transaction import (Synthea Bundle, ${bundleEntries} entries)`,
          job: {
            origin,
            method: 'POST',
            paths: ['/fhir'],
            headers: { ...STAFF, ...FHIR_JSON },
            body: bundle,
            freshUuids: true,
          },
          // At 16 connections the Bundles progress together and answer in bursts seconds apart.
          requestsPerConnection: (connections) => (connections === 1 ? (quick ? 4 : 20) : quick ? 1 : 2),
          entries: bundleEntries,
          // Not at 64: 64 Bundles at once are more than the node's load shedding lets wait (16 in flight,
          // 3 s in the queue), so it turns them all away, by design (src/http/middleware/load-shedding).
          levels: [1, 16],
        },
      ];

      const rateIds: string[] = [];
      const latencyIds: string[] = [];
      const floors = new Map<number, Figure>();
      for (const op of operations) {
        await op.before?.();
        const label = typeof op.label === 'string' ? op.label : op.label();
        for (const connections of op.levels ?? LEVELS) {
          const perConnection = op.requestsPerConnection?.(connections);
          let job: LoadJob = {
            ...op.job,
            connections,
            warmupMs,
            durationMs,
            connectPath: op.key === 'floor' ? '/' : '/health',
            ...(perConnection === undefined ? {} : { requestsPerConnection: perConnection }),
          };
          if (op.key === 'read' || op.key === 'read-member') {
            if (observationIds.length === 0) throw new Error('no Observation was created to read');
            job = { ...job, paths: readPaths() };
          }
          ctx.progress(
            `fhir: ${op.key}, ${connections} connection(s), ` +
              (perConnection === undefined
                ? `${job.durationMs / 1000} s`
                : `${perConnection} request(s) each`),
          );
          const profiling = ctx.options.profile && connections === 16;
          const stopProfile = profiling ? await startCpuProfile() : undefined;
          const probeAt = new Map<string, LogCommitCounts>([['job-start', commits.read()]]);
          const result = await load.run(job, (edge) => probeAt.set(edge, commits.read()));
          probeAt.set('job-end', commits.read());
          const opened = probeAt.get('window-start');
          const closed = probeAt.get('window-end');
          if (stopProfile !== undefined) {
            const profile = await stopProfile();
            const file = `fhir-${op.key}-c${connections}.cpuprofile`;
            mkdirSync(ctx.resultsDir, { recursive: true });
            writeFileSync(join(ctx.resultsDir, file), JSON.stringify(profile));
            const summary = summarizeCpuProfile(profile);
            notes.push(
              `Profile of the server thread, ${op.key} at ${connections} conn. (${file}, ` +
                `${formatNumber(summary.wallMs / 1000)} s incl. warm-up); by module: ` +
                `${formatProfileShares(summary.modules)}; top functions (self): ${formatProfileShares(summary.functions)}.`,
            );
          }
          op.onResult?.(result);
          if (result.ok === 0)
            throw new Error(`${op.key}: no request succeeded; first: ${result.firstError}`);
          if (result.errors > 0 || result.firstError !== undefined)
            notes.push(
              `${op.key} at ${connections} connection(s): ${result.errors} non-2xx/failed request(s) in the window; first: ${result.firstError}`,
            );
          const rate = result.ok / result.seconds;
          const p50 = percentile(result.latencies, 50);
          const p99 = percentile(result.latencies, 99);
          const logged =
            opened === undefined || closed === undefined || closed.commits === opened.commits
              ? undefined
              : {
                  commits: closed.commits - opened.commits,
                  commitMs: closed.commitMs - opened.commitMs,
                  insertMs: closed.insertMs - opened.insertMs,
                  indexRows: closed.indexRows - opened.indexRows,
                };
          const extra: Record<string, number> = {
            requests: result.ok,
            errors: result.errors,
            seconds: round(result.seconds),
            ...(logged === undefined
              ? {}
              : {
                  // Over the whole job: every request has been answered by its end, none was in flight at its start.
                  logCommitsPerAnswer: round(
                    ((probeAt.get('job-end')?.commits ?? 0) - (probeAt.get('job-start')?.commits ?? 0)) /
                      result.answered,
                    2,
                  ),
                  logCommitMs: round(logged.commitMs / logged.commits),
                  logCommitShare: round(logged.commitMs / 1000 / result.seconds, 2),
                  versionInsertMsPerCommit: round(logged.insertMs / logged.commits),
                  indexRowsPerCommit: round(logged.indexRows / logged.commits, 1),
                }),
            serverElu: round(result.serverElu, 2),
            clientElu: round(result.clientElu, 2),
            processCores: round(result.processCores, 2),
            machineBusy: round(result.machineBusy, 2),
            ...(result.serverOnCpu === undefined ? {} : { serverOnCpu: round(result.serverOnCpu, 2) }),
            ...(result.serverRunQueue === undefined
              ? {}
              : { serverRunQueue: round(result.serverRunQueue, 2) }),
            ...(result.serverCpuSeconds === undefined
              ? {}
              : {
                  serverCpuMsPerRequest: round(
                    (result.serverCpuSeconds * 1000) / (result.ok + result.errors),
                    3,
                  ),
                }),
            ...(result.serverSystemShare === undefined
              ? {}
              : { serverSystemShare: round(result.serverSystemShare, 2) }),
            ...(op.entries === undefined ? {} : { entriesPerSecond: rate * op.entries }),
            ...(op.matches === undefined ? {} : { matches: op.matches }),
          };
          const floorFigure = floors.get(connections);
          const ratios: Ratio[] = [
            ...(floorFigure === undefined || op.key === 'floor'
              ? []
              : [rateRatio(rate, floorFigure, `bare HTTP floor at ${connections} conn.`)]),
            ...(op.key === 'floor' || op.key === 'health'
              ? []
              : [rateRatio(rate, commit, 'raw SQLite single-commit rate')]),
            ...(op.entries === undefined
              ? []
              : [rateRatio(rate * op.entries, batched, 'raw SQLite batched rate, entries/s vs rows/s')]),
          ];
          const rateId = `fhir.${op.key}.c${connections}`;
          const latencyId = `fhir.${op.key}.latency.c${connections}`;
          const note = op.key === 'floor' || op.key === 'health' ? 'no FHIR work' : ON_NOTE;
          const rateFigure: Figure = {
            group: 'fhir',
            id: rateId,
            label: `${label}, ${connections} conn.`,
            value: rate,
            unit: 'requests/s',
            extra,
            ratios,
            note,
          };
          if (op.key === 'floor') floors.set(connections, rateFigure);
          rateIds.push(rateId);
          latencyIds.push(latencyId);
          figures.push(rateFigure, {
            group: 'fhir',
            id: latencyId,
            label: `${label} latency, ${connections} conn.`,
            value: p50,
            unit: 'ms',
            p99,
            extra,
            ratios: [costRatio(p50 / 1000, commit, 'SQLite single-commit time')],
            note,
          });
        }
      }
      notes.push(
        `All FHIR figures are over real HTTP to one node (in this process, its own thread) with ${ON_NOTE}. ` +
          'Requests come from a worker thread over node:http keep-alive connections, opened beforehand (one ' +
          'GET /health each, as a busy node accepts new connections slowly), one request at a time ' +
          `each; after a ${warmupMs} ms warm-up, the answers arriving within ${durationMs / 1000} s are ` +
          'counted. Transactions are counted jobs instead (a fixed number per connection, all counted, rate = ' +
          'answers / time to the last one). Staff requests are Practitioner/dr-1, role clinician, purpose ' +
          'TREAT; member reads are Organization/<lab address>, purpose TREAT. ' +
          `${formatNumber(observationIds.length)} Observations were created and then read; searches run over ` +
          `one import of ${SYNTHEA_FILE}; transaction Bundles are that file filtered to the served types ` +
          `minus CarePlan (${bundleEntries} entries, ${formatNumber(bundle.length / 1024)} KiB) with fresh ` +
          'urn:uuid ids on every POST, so each creates new resources.',
        "Details: serverElu is the event-loop utilisation of the server's thread over the window (1 = never " +
          'idle); serverOnCpu and serverRunQueue the share of the window it ran on a core and waited for one ' +
          '(Linux schedstat), so serverElu minus both is time blocked in system calls such as fsync; ' +
          'serverCpuMsPerRequest its CPU time per answer and serverSystemShare the kernel share of that ' +
          'time; processCores the CPU of the process (server and client threads); machineBusy the share of all cores busy (anvil and any other process included); ' +
          'logCommitsPerAnswer the durable log transactions (SqliteLogStorage.appendBatch: log entries, record ' +
          'versions and AuditEvents in one SQLite transaction) per answer, logCommitMs the time each held the ' +
          "node's thread (COMMIT and fsync included), logCommitShare their share of the window, " +
          'versionInsertMsPerCommit and indexRowsPerCommit the record and blind-index rows inside them. ' +
          `1-minute load average ${formatNumber(loadBefore)} before the group, ` +
          `${formatNumber(loadavg()[0] as number)} after.` +
          (ctx.options.profile
            ? ' CPU profiles were recorded in this run: its figures are slowed by them.'
            : ''),
      );
      return {
        figures,
        charts: [
          {
            file: 'fhir-rate.svg',
            title:
              'FHIR requests/s by operation and connections, beside the raw SQLite commit rate (log scale)',
            unit: '/s',
            figureIds: rateIds,
            referenceIds: ['limits.sqlite.commit'],
            scale: 'log',
          },
          {
            file: 'fhir-latency.svg',
            title: 'FHIR latency, ms (p50 bar, p99 tick; log scale)',
            unit: 'ms',
            figureIds: latencyIds,
            showP99: true,
            scale: 'log',
          },
        ],
        notes,
      };
    } finally {
      release();
      await cleanup();
    }
  },
};
