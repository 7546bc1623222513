/**
 * CPU time of other processes from Linux's /proc/<pid>/stat (fields 14 utime and 15 stime, in clock
 * ticks of USER_HZ = 1/100 s), so that two servers on one shared machine can be compared by the CPU
 * each spent per request over the same window, whatever else the machine was doing.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat on every Linux architecture Node runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcCpu {
  /** User and system CPU time, ms. */
  readonly userMs: number;
  readonly systemMs: number;
}

/**
 * Parses the text of /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold
 * spaces or parentheses itself, so fields are counted after its last `)`.
 */
export function parseProcStat(text: string): ProcCpu {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line: no command name');
  // After ") " comes field 3 (state); utime is field 14, stime field 15.
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
    throw new Error('not a /proc/<pid>/stat line: utime/stime missing');
  return {
    userMs: (utime * 1000) / CLOCK_TICKS_PER_SECOND,
    systemMs: (stime * 1000) / CLOCK_TICKS_PER_SECOND,
  };
}

/** Parses a `--peer-pids` value: `123,456` → [123, 456]. */
export function parsePidList(value: string): number[] {
  const pids = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (pids.length === 0 || pids.some((p) => !/^[1-9][0-9]*$/.test(p)))
    throw new Error('--peer-pids needs a comma-separated list of process ids');
  return pids.map(Number);
}

/** CPU of one process (all its threads), or undefined once it is gone or outside Linux. */
export function readProcCpu(pid: number): ProcCpu | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** `pid` and every process below it (children of any of its threads), found through /proc. */
export function processTree(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const current = queue.shift() as number;
    found.push(current);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${current}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const children = readFileSync(`/proc/${current}/task/${tid}/children`, 'utf8').trim();
        if (children !== '') queue.push(...children.split(/\s+/).map(Number));
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return found;
}

/** Per-pid CPU at one moment; pids that cannot be read are left out. */
export type CpuSnapshot = ReadonlyMap<number, ProcCpu>;

export function snapshotCpu(pids: readonly number[]): CpuSnapshot {
  const snapshot = new Map<number, ProcCpu>();
  for (const pid of pids) {
    const cpu = readProcCpu(pid);
    if (cpu !== undefined) snapshot.set(pid, cpu);
  }
  return snapshot;
}

/**
 * CPU ms spent between two snapshots, per pid (pids present in both) and in total. A process that
 * ended inside the window is left out rather than counted from zero.
 */
export function cpuBetween(
  start: CpuSnapshot,
  end: CpuSnapshot,
): { totalMs: number; perPid: Map<number, number> } {
  const perPid = new Map<number, number>();
  let totalMs = 0;
  for (const [pid, before] of start) {
    const after = end.get(pid);
    if (after === undefined) continue;
    const ms = after.userMs - before.userMs + after.systemMs - before.systemMs;
    perPid.set(pid, ms);
    totalMs += ms;
  }
  return { totalMs, perPid };
}
