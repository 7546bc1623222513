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

/** One process as /proc/<pid>/stat describes it. */
export interface ProcStat extends ProcCpu {
  readonly pid: number;
  /** Its parent's pid (field 4). */
  readonly ppid: number;
  /** The command name (field 2), at most 15 characters (proc(5)). */
  readonly comm: string;
}

/**
 * Parses the text of /proc/<pid>/stat. The command name (field 2) is in parentheses and may hold
 * spaces or parentheses itself, so fields are counted after its last `)`.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error('not a /proc/<pid>/stat line: no command name');
  // After ") " comes field 3 (state); ppid is field 4, utime field 14, stime field 15.
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const pid = Number(text.slice(0, open).trim());
  const ppid = Number(fields[4 - 3]);
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (![pid, ppid, utime, stime].every(Number.isFinite))
    throw new Error('not a /proc/<pid>/stat line: pid, ppid, utime or stime missing');
  return {
    pid,
    ppid,
    comm: text.slice(open + 1, close),
    userMs: (utime * 1000) / CLOCK_TICKS_PER_SECOND,
    systemMs: (stime * 1000) / CLOCK_TICKS_PER_SECOND,
  };
}

/** The whole machine's CPU time, ms summed over its cores: idle (with I/O wait) and in all. */
export interface MachineCpu {
  readonly idleMs: number;
  readonly totalMs: number;
}

/**
 * Parses /proc/stat's first line (`cpu  user nice system idle iowait irq softirq steal guest
 * guest_nice`, in USER_HZ ticks, proc(5)). Guest time is already counted in user and nice, so it is
 * not added to the total again.
 */
export function parseMachineCpu(text: string): MachineCpu {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (line === undefined) throw new Error('not /proc/stat: no all-cores cpu line');
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 4 || !ticks.every(Number.isFinite))
    throw new Error('not /proc/stat: cpu line too short');
  const ms = (n: number) => (n * 1000) / CLOCK_TICKS_PER_SECOND;
  return {
    idleMs: ms((ticks[3] ?? 0) + (ticks[4] ?? 0)),
    totalMs: ms(ticks.reduce((a, b) => a + b, 0)),
  };
}

/** The machine's CPU now (/proc/stat). */
export function readMachineCpu(): MachineCpu {
  return parseMachineCpu(readFileSync('/proc/stat', 'utf8'));
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

/** One process (the CPU of all its threads), or undefined once it is gone or outside Linux. */
export function readProcCpu(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Every process on the machine now (their stat files are readable by all). */
export function listProcesses(): ProcStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcCpu(Number(name)))
    .filter((p): p is ProcStat => p !== undefined);
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

/**
 * The processes below `root` (by default this one) whose command name starts with `prefix`: this
 * run's own anvil or PostgreSQL, never another's on the same machine.
 */
export function processesNamed(prefix: string, root: number = process.pid): number[] {
  return processTree(root).filter((pid) => readProcCpu(pid)?.comm.startsWith(prefix) === true);
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
