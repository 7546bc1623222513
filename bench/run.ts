/**
 * `npm run bench [-- --quick] [--only limits,log,chain,consent,fhir,exchange] [--json] [--profile]`
 *
 * Measures CareLedger's figures beside this machine's raw limits from the same run, prints a table
 * (or JSON with --json; progress always goes to stderr) and writes bench/results/. A group that
 * crashes prints its error and the others still run; the exit code is 1 only if a group crashed.
 * Timings are printed, never asserted. See docs/benchmarks.md.
 */
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chainGroup } from './groups/chain.js';
import { claimsGroup } from './groups/claims.js';
import { consentGroup } from './groups/consent.js';
import { exchangeGroup } from './groups/exchange.js';
import { exportGroup } from './groups/export.js';
import { fhirGroup } from './groups/fhir.js';
import { fhirAuditBytesGroup } from './groups/fhir-audit-bytes.js';
import { fhirScaleGroup } from './groups/fhir-scale.js';
import { fhirWorkersGroup } from './groups/fhir-workers.js';
import { importGroup } from './groups/import.js';
import { limitsGroup, measureLimit } from './groups/limits.js';
import { logGroup } from './groups/log.js';
import { peerGroup } from './groups/peer.js';
import { researchReleaseGroup } from './groups/research-release.js';
import { researchScaleGroup } from './groups/research-scale.js';
import { searchGroup } from './groups/search.js';
import { searchScaleGroup } from './groups/search-scale.js';
import { supplyGroup } from './groups/supply.js';
import { transactionBundleGroup } from './groups/transaction-bundle.js';
import { formatNumber } from './measure.js';
import { formatTable, type GroupError, writeResults } from './report.js';
import type { ChartSpec, Figure, Group, GroupContext } from './types.js';

const GROUPS: readonly Group[] = [
  limitsGroup,
  logGroup,
  chainGroup,
  consentGroup,
  fhirGroup,
  fhirAuditBytesGroup,
  fhirScaleGroup,
  fhirWorkersGroup,
  exchangeGroup,
  exportGroup,
  searchGroup,
  searchScaleGroup,
  importGroup,
  peerGroup,
  claimsGroup,
  researchReleaseGroup,
  researchScaleGroup,
  supplyGroup,
  transactionBundleGroup,
];
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

interface Args {
  readonly quick: boolean;
  readonly profile: boolean;
  readonly json: boolean;
  readonly only: readonly string[];
  readonly sizes: Readonly<Record<string, number>>;
  readonly peerArgs: readonly (readonly [string, string])[];
}

const USAGE = `usage: npm run bench -- [--quick] [--only <group,...>] [--json] [--profile] [--size <name>=<n>]... [--patients <n>]
  [--peer-url <FHIR R4 base> [--peer-token <bearer>] [--peer-pids <pid,...>] [--peer-header '<name>: <value>']... [--peer-careledger-workers <n>]]
groups: ${GROUPS.map((g) => `${g.name} (${g.description})`).join('; ')}`;

function parseArgs(argv: readonly string[]): Args {
  let quick = false;
  let json = false;
  let profile = false;
  let only: string[] = GROUPS.map((g) => g.name);
  const sizes: Record<string, number> = {};
  const peerArgs: [string, string][] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--quick') quick = true;
    else if (arg === '--json') json = true;
    else if (arg === '--profile') profile = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (value === undefined || value === '')
        throw new Error('--only needs a comma-separated list of groups');
      only = value.split(',').map((s) => s.trim());
      const unknown = only.filter((name) => !GROUPS.some((g) => g.name === name));
      if (unknown.length > 0) throw new Error(`unknown group(s): ${unknown.join(', ')}`);
    } else if (arg === '--patients' || arg.startsWith('--patients=')) {
      // The export group's synthetic patients: `--patients 10000` is `--size export=10000`.
      const value = arg === '--patients' ? argv[++i] : arg.slice('--patients='.length);
      if (!/^[0-9]+$/.test(value ?? '')) throw new Error('--patients needs a positive integer');
      sizes.export = Number(value);
    } else if (arg === '--size' || arg.startsWith('--size=')) {
      // A group's data size, e.g. `--size export=10000` (patients); each group names its own sizes.
      const value = arg === '--size' ? argv[++i] : arg.slice('--size='.length);
      const match = /^([a-z-]+)=([0-9]+)$/.exec(value ?? '');
      if (match === null) throw new Error('--size needs <name>=<positive integer>');
      sizes[match[1] as string] = Number(match[2]);
    } else if (/^--peer-[a-z-]+$/.test(arg)) {
      // The peer group's options (--peer-url, --peer-token, --peer-pids, --peer-header), checked there.
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      peerArgs.push([arg.slice('--peer-'.length), value]);
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return { quick, json, profile, only, sizes, peerArgs };
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const started = new Date();
  const t0 = performance.now();
  const progress = (message: string): void => {
    process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
  };

  const interruptions = new Set<() => Promise<void> | void>();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    progress(`${signal}: cleaning up`);
    void Promise.allSettled([...interruptions].map(async (fn) => fn())).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const limits = new Map<string, Figure>();
  const ctx: GroupContext = {
    options: { quick: args.quick, profile: args.profile, sizes: args.sizes, peerArgs: args.peerArgs },
    resultsDir: RESULTS_DIR,
    progress,
    async limit(id) {
      let figure = limits.get(id);
      if (figure === undefined) {
        progress(`limits: ${id}`);
        figure = measureLimit(id, args.quick);
        limits.set(id, figure);
      }
      return figure;
    },
    onInterrupt(cleanup) {
      interruptions.add(cleanup);
      return () => interruptions.delete(cleanup);
    },
  };

  const selected = GROUPS.filter((g) => args.only.includes(g.name));
  progress(`CareLedger bench (${args.quick ? 'quick' : 'full'}): ${selected.map((g) => g.name).join(', ')}`);
  const figures: Figure[] = [];
  const charts: ChartSpec[] = [];
  const notes: Record<string, string[]> = {};
  const errors: GroupError[] = [];
  for (const group of selected) {
    const groupStart = performance.now();
    progress(`${group.name}: start (${group.description})`);
    try {
      const result = await group.run(ctx);
      figures.push(...result.figures);
      charts.push(...result.charts);
      notes[group.name] = result.notes;
      progress(`${group.name}: done in ${formatNumber((performance.now() - groupStart) / 1000)} s`);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      errors.push({
        group: group.name,
        message: e.message,
        ...(e.stack === undefined ? {} : { stack: e.stack }),
      });
      progress(`${group.name}: FAILED after ${formatNumber((performance.now() - groupStart) / 1000)} s`);
      process.stderr.write(`${e.stack ?? e.message}\n`);
    }
  }
  // Limits measured on demand for other groups (the limits group itself was not selected).
  const shown = new Set(figures.map((f) => f.id));
  const extraLimits = [...limits.values()].filter((f) => !shown.has(f.id));
  const groups = selected.map((g) => g.name);
  if (extraLimits.length > 0) {
    figures.unshift(...extraLimits);
    if (!groups.includes('limits')) groups.unshift('limits');
  }

  const cpuList = cpus();
  const { run, files } = writeResults(
    RESULTS_DIR,
    {
      version: 1,
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      durationSeconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
      mode: args.quick ? 'quick' : 'full',
      groups,
      machine: {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
        cpus: cpuList.length,
        memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
      },
      figures,
      notes,
      errors,
    },
    charts,
  );
  if (args.json) process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
  else {
    process.stdout.write(`\n${formatTable(run)}\n\n`);
    process.stdout.write(`wrote ${files.map((f) => f.replace(`${process.cwd()}/`, '')).join(', ')}\n`);
  }
  progress(
    `finished in ${formatNumber(run.durationSeconds)} s${errors.length > 0 ? ` with ${errors.length} failed group(s)` : ''}`,
  );
  return errors.length > 0 ? 1 : 0;
}

process.exit(await main());
