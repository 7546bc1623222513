/**
 * Imports and the requests around them (issue 16: "transactions and imports never hold the event loop
 * for the whole Bundle"). One solo node over real HTTP, load from the worker thread as in the fhir
 * group: the p50/p99 of single reads (GET Observation/<id>) on an idle node, then the same reads while
 * a second connection POSTs 105-entry Synthea transaction Bundles back to back. The node validates,
 * indexes and seals a transaction in slices (src/vault/operations/transaction.ts), so a read waits for
 * a slice, not for the Bundle; the target is a p99 during the import within 2 × the idle p99.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_IMPORT_BATCH } from '../../src/cli/commands/import-batch.js';
import { SUPPORTED_RESOURCE_TYPES } from '../../src/http/routes/fhir-routes.js';
import { SYNTHEA_DIR } from '../../test/support/shared-data.js';
import { startSoloNode } from '../../test/support/start-solo-node.js';
import { type HttpLoad, type MeasuredLoad, startHttpLoad } from '../http-load.js';
import { formatNumber, percentile } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const SYNTHEA_FILE = 'Dannie_Kshlerin_21177cbf-c2b8-4f55-9765-dc333a5fd5d9.json';
export const TRANSACTION_ENTRIES = 105;
const STAFF = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'x-careledger-purpose': 'TREAT',
};
const FHIR_JSON = { 'content-type': 'application/fhir+json' };

interface BundleEntry {
  fullUrl?: string;
  resource: { resourceType: string };
}

/**
 * The first 105 entries of a Synthea Bundle, of served types, whose `urn:uuid:` references all point
 * at entries kept (so the transaction is whole on its own).
 */
export function loadTransactionBundle(entries = TRANSACTION_ENTRIES): string {
  const source = JSON.parse(readFileSync(join(SYNTHEA_DIR, SYNTHEA_FILE), 'utf8')) as {
    entry: BundleEntry[];
  };
  const served = new Set<string>(SUPPORTED_RESOURCE_TYPES);
  const kept: BundleEntry[] = [];
  const keptUrls = new Set<string>();
  for (const entry of source.entry) {
    if (kept.length === entries) break;
    if (!served.has(entry.resource.resourceType)) continue;
    const references = JSON.stringify(entry.resource).match(/urn:uuid:[0-9a-f-]{36}/g) ?? [];
    if (references.some((r) => !keptUrls.has(r))) continue;
    kept.push(entry);
    if (entry.fullUrl !== undefined) keptUrls.add(entry.fullUrl);
  }
  if (kept.length < entries) throw new Error(`${SYNTHEA_FILE} has only ${kept.length} usable entries`);
  return JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry: kept });
}

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/**
 * `careledger import` of some Synthea Bundles, in its own process as a user runs it: the resources/s it
 * reports (loaded resources over its elapsed time, from reading the files to the last answer).
 */
async function runCliImport(
  origin: string,
  files: readonly string[],
  batch: number,
): Promise<{ loaded: number; requests: number; seconds: number; rate: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'careledger-bench-import-'));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        '--data-dir',
        dataDir,
        'import',
        ...files,
        '--node',
        origin,
        '--batch',
        String(batch),
        '--json',
        '--quiet',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const summary = JSON.parse(stdout) as {
      loaded: number;
      failed: number;
      requests: number;
      elapsedMs: number;
      resourcesPerSecond: number;
    };
    if (summary.failed > 0) throw new Error(`careledger import: ${summary.failed} resource(s) failed`);
    return {
      loaded: summary.loaded,
      requests: summary.requests,
      seconds: summary.elapsedMs / 1000,
      rate: summary.resourcesPerSecond,
    };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function latencyFigure(id: string, label: string, result: MeasuredLoad, note?: string): Figure {
  return {
    group: 'import',
    id,
    label,
    value: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
    unit: 'ms',
    extra: {
      reads: result.latencies.length,
      'reads/s': Number((result.ok / result.seconds).toFixed(1)),
      serverElu: Number(result.serverElu.toFixed(2)),
      machineBusy: Number(result.machineBusy.toFixed(2)),
    },
    ratios: [],
    ...(note === undefined ? {} : { note }),
  };
}

export const importGroup: Group = {
  name: 'import',
  description:
    'single-read p99 idle and during a loop of 105-entry Synthea transactions; careledger import resources/s',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const quick = ctx.options.quick;
    const warmupMs = quick ? 300 : 1_000;
    const durationMs = quick ? 3_000 : 10_000;
    const cleanups: (() => Promise<void> | void)[] = [];
    const cleanup = async () => {
      for (const fn of cleanups.reverse()) await fn();
      cleanups.length = 0;
    };
    const unregister = ctx.onInterrupt(cleanup);
    try {
      const load: HttpLoad = await startHttpLoad();
      cleanups.push(() => load.close());
      ctx.progress('import: starting a solo node (embedded chain, contracts, FHIR API)');
      const solo = await startSoloNode();
      cleanups.push(() => solo.stop());
      const origin = solo.node.url;
      const bundle = loadTransactionBundle();

      // Something to read: one Observation, read over and over (its patient's key stays cached).
      const created = await fetch(`${origin}/fhir/Observation`, {
        method: 'POST',
        headers: { ...STAFF, ...FHIR_JSON },
        body: JSON.stringify({
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
          valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        }),
      });
      if (created.status !== 201) throw new Error(`create answered ${created.status}`);
      const readPath = `/fhir/Observation/${((await created.json()) as { id: string }).id}`;
      const reads = {
        origin,
        connections: 1,
        connectPath: '/health',
        method: 'GET' as const,
        paths: [readPath],
        headers: STAFF,
        warmupMs,
        durationMs,
      };

      ctx.progress(`import: single reads on an idle node, ${durationMs / 1000} s`);
      const idle = await load.run(reads);

      ctx.progress(
        `import: single reads during ${TRANSACTION_ENTRIES}-entry transactions, ${durationMs / 1000} s`,
      );
      // The transactions start first and outlast the reads' window, so every read counted overlaps them.
      const transactions = load.run({
        origin,
        connections: 1,
        connectPath: '/health',
        method: 'POST',
        paths: ['/fhir'],
        headers: { ...STAFF, ...FHIR_JSON },
        body: bundle,
        freshUuids: true,
        warmupMs: 0,
        durationMs: warmupMs * 2 + durationMs + 2_000,
      });
      const during = await load.run({ ...reads, warmupMs: warmupMs * 2 });
      const imported = await transactions;
      if (imported.ok === 0) throw new Error(`no transaction succeeded: ${imported.firstError}`);
      if (idle.errors + during.errors + imported.errors > 0)
        throw new Error(`requests failed: ${idle.firstError ?? during.firstError ?? imported.firstError}`);

      // careledger import, one PUT per resource (as before issue 16) and in transaction Bundles, each
      // over other Synthea files (so both create every resource), the first two sizes alike.
      const synthea = readdirSync(SYNTHEA_DIR)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(SYNTHEA_DIR, f));
      const perRun = quick ? 1 : 3;
      const cliFigures: Figure[] = [];
      for (const [i, batch] of [1, DEFAULT_IMPORT_BATCH].entries()) {
        const files = synthea.slice(i * perRun, (i + 1) * perRun);
        ctx.progress(`import: careledger import of ${files.length} Synthea Bundle(s), --batch ${batch}`);
        const run = await runCliImport(origin, files, batch);
        cliFigures.push({
          group: 'import',
          id: `import.cli.batch${batch}`,
          label: `careledger import, ${files.length} Synthea Bundle(s), ${batch === 1 ? 'one PUT per resource' : `transaction Bundles of ${batch}`}`,
          value: run.rate,
          unit: 'resources/s',
          extra: { resources: run.loaded, requests: run.requests, seconds: Number(run.seconds.toFixed(1)) },
          ratios: [],
        });
      }

      const idleP99 = percentile(idle.latencies, 99);
      const duringP99 = percentile(during.latencies, 99);
      const transactionMs = percentile(imported.latencies, 50);
      const figures: Figure[] = [
        latencyFigure('import.read.idle', 'single read (GET Observation/<id>), idle node', idle),
        {
          ...latencyFigure(
            'import.read.during-transactions',
            `single read during back-to-back ${TRANSACTION_ENTRIES}-entry transactions`,
            during,
            'target: p99 within 2 × the idle p99',
          ),
          ratios: [
            {
              value: duringP99 / idleP99,
              text: `${formatNumber(duringP99 / idleP99)} × the idle p99 (${formatNumber(idleP99)} ms)`,
            },
          ],
        },
        {
          group: 'import',
          id: 'import.transaction',
          label: `transaction, ${TRANSACTION_ENTRIES} Synthea entries (while the reads ran)`,
          value: transactionMs,
          p99: percentile(imported.latencies, 99),
          unit: 'ms',
          extra: {
            transactions: imported.ok,
            'entries/s': Math.round((imported.ok * TRANSACTION_ENTRIES) / imported.seconds),
          },
          ratios: [],
        },
        ...cliFigures,
      ];
      return {
        figures,
        charts: [],
        notes: [
          `import: reads idle p99 ${formatNumber(idleP99)} ms, during transactions p99 ${formatNumber(duringP99)} ms ` +
            `(${formatNumber(duringP99 / idleP99)} ×); a transaction took ${formatNumber(transactionMs)} ms (p50)`,
        ],
      };
    } finally {
      await cleanup();
      unregister();
    }
  },
};
