/**
 * The FHIR API of one member node over real HTTP: create, read, search and a Synthea transaction
 * Bundle under 1, 16 (and 64 in full mode) concurrent keep-alive connections, with encryption,
 * validation, the access check and durable audit all on.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUPPORTED_RESOURCE_TYPES } from '../../src/http/routes/fhir-routes.js';
import { SYNTHEA_DIR } from '../../test/support/shared-data.js';
import { startSoloNode } from '../../test/support/start-solo-node.js';
import { costRatio, formatNumber, percentile, rateRatio } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const SYNTHEA_FILE = 'Andy_Schaden_d630c6ca-046c-470a-8f3a-4dbc3850e7ae.json';
const HEADERS = {
  'x-careledger-identity': 'Practitioner/bench',
  'x-careledger-purpose': 'TREAT',
  connection: 'keep-alive',
};
const JSON_HEADERS = { ...HEADERS, 'content-type': 'application/fhir+json' };
const ON_NOTE = 'encryption, validation, the access check and durable audit all on';

interface Request {
  readonly path: string;
  readonly init?: RequestInit;
}

interface LoadResult {
  readonly ok: number;
  readonly errors: number;
  readonly seconds: number;
  /** Latencies of successful requests, ms. */
  readonly latencies: number[];
  /** Bodies of successful answers (only when `keep` is set). */
  readonly bodies: string[];
  readonly firstError?: string;
}

/** `workers` loops each sending `next(i)` until the deadline; a non-2xx answer is an error. */
async function runLoad(
  base: string,
  workers: number,
  durationMs: number,
  next: (i: number) => Request,
  keep = false,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const bodies: string[] = [];
  let issued = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const request = next(issued++);
      const t0 = performance.now();
      try {
        const response = await fetch(`${base}${request.path}`, request.init);
        const body = await response.text(); // read fully so that the connection is reused
        if (response.status >= 200 && response.status < 300) {
          latencies.push(performance.now() - t0);
          ok += 1;
          if (keep) bodies.push(body);
        } else {
          errors += 1;
          firstError ??= `${request.init?.method ?? 'GET'} ${request.path}: ${response.status} ${body.slice(0, 300)}`;
        }
      } catch (error) {
        errors += 1;
        firstError ??= `${request.init?.method ?? 'GET'} ${request.path}: ${(error as Error).message}`;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return {
    ok,
    errors,
    seconds: (performance.now() - start) / 1000,
    latencies,
    bodies,
    ...(firstError === undefined ? {} : { firstError }),
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

export const fhirGroup: Group = {
  name: 'fhir',
  description: 'FHIR API over HTTP: create, read, search, transaction (all protections on)',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const { quick } = ctx.options;
    const commit = await ctx.limit('limits.sqlite.commit');
    const durationMs = quick ? 1000 : 4000;
    const levels = quick ? [1, 16] : [1, 16, 64];
    const figures: Figure[] = [];
    const notes: string[] = [];
    const bundle = loadBundle();
    const bundleEntries = (JSON.parse(bundle) as { entry: unknown[] }).entry.length;

    ctx.progress('fhir: starting a solo node (embedded chain, contracts, FHIR API)');
    const solo = await startSoloNode();
    const release = ctx.onInterrupt(() => solo.stop());
    try {
      const base = `${solo.node.url}/fhir`;
      const patient = await fetch(`${base}/Patient`, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({
          resourceType: 'Patient',
          name: [{ family: 'Bench', given: ['Ada'] }],
          birthDate: '1970-01-01',
        }),
      });
      const patientBody = await patient.text();
      if (patient.status !== 201) throw new Error(`creating the Patient: ${patient.status} ${patientBody}`);
      const patientId = (JSON.parse(patientBody) as { id: string }).id;
      const observation = JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject: { reference: `Patient/${patientId}` },
        valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      });

      const operations: {
        key: string;
        label: string;
        request: (ids: readonly string[]) => (i: number) => Request;
        keep?: boolean;
      }[] = [
        {
          key: 'create',
          label: 'FHIR create (POST Observation)',
          request: () => () => ({
            path: '/Observation',
            init: { method: 'POST', headers: JSON_HEADERS, body: observation },
          }),
          keep: true,
        },
        {
          key: 'read',
          label: 'FHIR read (GET Observation/<id>)',
          request: (ids) => (i) => ({
            path: `/Observation/${ids[i % ids.length]}`,
            init: { headers: HEADERS },
          }),
        },
        {
          key: 'search',
          label: 'FHIR search (Observation?subject=…&_count=10)',
          request: () => () => ({
            path: `/Observation?subject=Patient/${patientId}&_count=10`,
            init: { headers: HEADERS },
          }),
        },
        {
          key: 'transaction',
          label: `FHIR transaction (Synthea Bundle, ${bundleEntries} entries)`,
          request: () => () => ({ path: '', init: { method: 'POST', headers: JSON_HEADERS, body: bundle } }),
        },
      ];

      const ids: string[] = [];
      const rateIds: string[] = [];
      const latencyIds: string[] = [];
      for (const op of operations) {
        for (const concurrency of levels) {
          ctx.progress(`fhir: ${op.key}, ${concurrency} concurrent for ${durationMs / 1000} s`);
          const result = await runLoad(base, concurrency, durationMs, op.request(ids), op.keep);
          if (op.key === 'create') {
            for (const body of result.bodies) ids.push((JSON.parse(body) as { id: string }).id);
            if (ids.length === 0) throw new Error(`no Observation was created: ${result.firstError}`);
          }
          if (result.errors > 0)
            notes.push(
              `${op.key} at ${concurrency} concurrent: ${result.errors} non-2xx/failed request(s); first: ${result.firstError}`,
            );
          const rate = result.ok / result.seconds;
          const p50 = percentile(result.latencies, 50);
          const p99 = percentile(result.latencies, 99);
          const extra = {
            requests: result.ok,
            errors: result.errors,
            seconds: Number(result.seconds.toFixed(3)),
            ...(op.key === 'transaction' ? { entriesPerSecond: rate * bundleEntries } : {}),
          };
          const rateId = `fhir.${op.key}.c${concurrency}`;
          const latencyId = `fhir.${op.key}.latency.c${concurrency}`;
          rateIds.push(rateId);
          latencyIds.push(latencyId);
          figures.push(
            {
              group: 'fhir',
              id: rateId,
              label: `${op.label}, ${concurrency} concurrent`,
              value: rate,
              unit: 'requests/s',
              extra,
              ratios: [rateRatio(rate, commit, 'raw SQLite single-commit rate')],
              note: `${ON_NOTE}; ${result.errors} error(s)`,
            },
            {
              group: 'fhir',
              id: latencyId,
              label: `${op.label} latency, ${concurrency} concurrent`,
              value: p50,
              unit: 'ms',
              p99,
              extra,
              ratios: [costRatio(p50 / 1000, commit, 'SQLite single-commit time')],
              note: `${ON_NOTE}; ${result.errors} error(s)`,
            },
          );
        }
      }
      notes.push(
        `All FHIR figures are over real HTTP (keep-alive) to one node with ${ON_NOTE}; ` +
          `${formatNumber(ids.length)} Observations were created and then read; the transaction ` +
          `Bundle is ${SYNTHEA_FILE} filtered to the served types minus CarePlan (${bundleEntries} entries, ` +
          `${formatNumber(bundle.length / 1024)} KiB).`,
      );
      return {
        figures,
        charts: [
          {
            file: 'fhir-rate.svg',
            title:
              'FHIR requests/s by operation and concurrency, beside the raw SQLite commit rate (log scale)',
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
      await solo.stop();
    }
  },
};
