/**
 * The pure parts of the side-by-side benchmark (bench/groups/peer.ts): its command-line options,
 * per-round figures, medians over rounds and the ratios printed between the two servers.
 */
import { percentile } from '../measure.js';
import { type CpuSnapshot, cpuBetween, parsePidList } from './proc-cpu.js';

export interface PeerOptions {
  /** The peer's FHIR R4 base, e.g. `http://127.0.0.1:8103/fhir/R4` (no trailing slash). */
  readonly url: string;
  /** Headers sent to the peer on every request (`--peer-token` becomes `authorization: Bearer …`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The peer's processes whose CPU is measured (`--peer-pids`); empty: not measured. */
  readonly pids: readonly number[];
  /** `node start --workers` of the CareLedger node (`--peer-careledger-workers`); default: one per core. */
  readonly careledgerWorkers?: number;
}

/**
 * `--peer-url`, `--peer-token`, `--peer-pids` and any number of `--peer-header 'name: value'`
 * (for a peer that does not take a bearer token, e.g. a development CareLedger node). Undefined
 * without `--peer-url`.
 */
export function parsePeerOptions(args: readonly (readonly [string, string])[]): PeerOptions | undefined {
  let url: string | undefined;
  const headers: Record<string, string> = {};
  let pids: number[] = [];
  let careledgerWorkers: number | undefined;
  for (const [name, value] of args) {
    if (name === 'url') {
      const parsed = new URL(value);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        throw new Error('--peer-url must be an http(s) URL');
      url = value.replace(/\/+$/, '');
    } else if (name === 'token') headers.authorization = `Bearer ${value}`;
    else if (name === 'pids') pids = parsePidList(value);
    else if (name === 'header') {
      const match = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(value);
      if (match === null) throw new Error("--peer-header needs 'name: value'");
      headers[(match[1] as string).toLowerCase()] = match[2] as string;
    } else if (name === 'careledger-workers') {
      careledgerWorkers = Number(value);
      if (!Number.isInteger(careledgerWorkers) || careledgerWorkers < 1)
        throw new Error('--peer-careledger-workers is a whole number from 1');
    } else throw new Error(`unknown option --peer-${name}`);
  }
  if (url === undefined) return undefined;
  return careledgerWorkers === undefined ? { url, headers, pids } : { url, headers, pids, careledgerWorkers };
}

/** One workload on one server in one round. */
export interface RoundFigure {
  /** Answers (2xx) per second; for transaction Bundles, Bundles per second. */
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Server CPU per answer, ms; undefined when its processes were not measured. */
  readonly cpuMsPerRequest?: number;
  /** The same split by the processes' command names (`node`, `postgres`, `redis-server`, `anvil`). */
  readonly cpuMsPerRequestBy?: Readonly<Record<string, number>>;
  readonly ok: number;
  readonly errors: number;
}

export function roundFigure(
  result: { ok: number; errors: number; seconds: number; latencies: readonly number[] },
  cpuMs: number | undefined,
  cpuMsBy?: Readonly<Record<string, number>>,
): RoundFigure {
  const answers = result.ok + result.errors;
  return {
    rate: result.ok / result.seconds,
    p50Ms: percentile(result.latencies, 50),
    p99Ms: percentile(result.latencies, 99),
    ...(cpuMs === undefined || result.ok + result.errors === 0 ? {} : { cpuMsPerRequest: cpuMs / answers }),
    ...(cpuMsBy === undefined || answers === 0
      ? {}
      : {
          cpuMsPerRequestBy: Object.fromEntries(
            Object.entries(cpuMsBy).map(([command, ms]) => [command, ms / answers]),
          ),
        }),
    ok: result.ok,
    errors: result.errors,
  };
}

/** The median of the values (mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Medians over rounds of each figure; CPU only if every round measured it. */
export function medianOfRounds(rounds: readonly RoundFigure[]): RoundFigure {
  const cpu = rounds.map((r) => r.cpuMsPerRequest);
  return {
    rate: median(rounds.map((r) => r.rate)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    ...(cpu.length > 0 && cpu.every((c) => c !== undefined)
      ? { cpuMsPerRequest: median(cpu as number[]) }
      : {}),
    ...(rounds.length > 0 && rounds.every((r) => r.cpuMsPerRequestBy !== undefined)
      ? { cpuMsPerRequestBy: medianBy(rounds.map((r) => r.cpuMsPerRequestBy ?? {})) }
      : {}),
    ok: rounds.reduce((sum, r) => sum + r.ok, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** Per command, the median over rounds (a round without the command counts 0 for it). */
function medianBy(rounds: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const commands = new Set(rounds.flatMap((r) => Object.keys(r)));
  return Object.fromEntries([...commands].map((c) => [c, median(rounds.map((r) => r[c] ?? 0))]));
}

/** `a / b`, or undefined when either is missing or b is not positive (no ratio to print). */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0)
    return undefined;
  return a / b;
}

/** Which server goes first in round `round` (0-based): alternating, so neither always runs warm. */
export function roundOrder<T>(round: number, careledger: T, peer: T): [T, T] {
  return round % 2 === 0 ? [careledger, peer] : [peer, careledger];
}

/**
 * CPU ms each of one side's processes spent over a window, from snapshots of its process trees (the
 * given pids and all their descendants) taken when the window opened and when it closed. A process in
 * both counts its difference; a process only in the closing one was born inside the window (it
 * descends from the same roots, and it was not there at the opening) and counts whole: the backends a
 * database starts for a pool's new connections, which a tree listed once before the warm-up missed
 * (Medplum's pool closes idle connections after 10 s, so each workload opens its own). A process
 * that ended inside the window is lost (its time reaches its parent's cutime only when reaped).
 */
export function windowCpuPerPid(start: CpuSnapshot, end: CpuSnapshot): Map<number, number> {
  const perPid = cpuBetween(start, end).perPid;
  for (const [pid, cpu] of end) if (!start.has(pid)) perPid.set(pid, cpu.userMs + cpu.systemMs);
  return perPid;
}

/** The total of {@link windowCpuPerPid}. */
export function windowCpuMs(start: CpuSnapshot, end: CpuSnapshot): number {
  let total = 0;
  for (const ms of windowCpuPerPid(start, end).values()) total += ms;
  return total;
}

/** Per-pid CPU ms summed by command name (`node`, `postgres`, `redis-server`, `anvil`). */
export function cpuByCommand(
  perPid: ReadonlyMap<number, number>,
  commandOf: (pid: number) => string,
): Record<string, number> {
  const by: Record<string, number> = {};
  for (const [pid, ms] of perPid) {
    const command = commandOf(pid);
    by[command] = (by[command] ?? 0) + ms;
  }
  return by;
}

/** `node 1.58, postgres 0.97` (ms per request, largest first, 3 significant digits; zeros left out). */
export function formatCpuBy(by: Readonly<Record<string, number>> | undefined): string {
  if (by === undefined) return 'not measured';
  return Object.entries(by)
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([command, ms]) => `${command} ${Number(ms.toPrecision(3))}`)
    .join(', ');
}
