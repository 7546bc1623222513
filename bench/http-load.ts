/**
 * HTTP load against a server on this thread, from a worker thread (bench/http-load-worker.ts): N
 * keep-alive connections, each one request at a time, for a fixed time after a warm-up. Besides the
 * client's counts and latencies, it measures what the server side used over the same window: the
 * event-loop utilisation of this thread (1 = the server's thread never waited), the CPU time of the
 * process (server and client threads, in cores), how busy the whole machine was (anvil included) and,
 * on Linux, how the server thread's wall time splits into running on a core and waiting for one.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
// Node's Performance (with eventLoopUtilization), whatever DOM typings a dependency pulls in.
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

export interface LoadJob {
  /** `http://127.0.0.1:1234` */
  readonly origin: string;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** A cheap GET answered 200, sent once on each connection before the job to open it (`/health`). */
  readonly connectPath: string;
  readonly method: 'GET' | 'POST';
  /** Request paths, used in turn. */
  readonly paths: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Replace the body's urn:uuid ids with fresh ones on every request (transaction Bundles). */
  readonly freshUuids?: boolean;
  /**
   * Send exactly this many requests per connection and count them all, instead of a timed window
   * (warmupMs and durationMs are then ignored). For requests that take seconds: at 16 connections
   * they progress together and answer in bursts, which a window of a few seconds would cut badly.
   */
  readonly requestsPerConnection?: number;
  /** Return the Location header of every 2xx answer, warm-up included (ids of created resources). */
  readonly collectLocations?: boolean;
}

export interface LoadResult {
  /** 2xx answers that arrived in the measured window. */
  readonly ok: number;
  /** Other answers and network errors in the measured window. */
  readonly errors: number;
  /** Length of the measured window (counted jobs: from the first request to the last answer). */
  readonly seconds: number;
  /** Every answer of the job, warm-up and after the window included. */
  readonly answered: number;
  /** Latency of each counted 2xx answer, ms. */
  readonly latencies: number[];
  readonly locations: string[];
  /** Event-loop utilisation of the load generator's thread over the window. */
  readonly clientElu: number;
  readonly firstError?: string;
}

export interface MeasuredLoad extends LoadResult {
  /** Event-loop utilisation of the server's (this) thread over the window. */
  readonly serverElu: number;
  /** CPU time of this process (all threads) per second of window: cores used. */
  readonly processCores: number;
  /** Share of all cores of the machine that were busy over the window (0..1). */
  readonly machineBusy: number;
  /**
   * Share of the window the server thread ran on a core, and waited in the run queue for one (Linux
   * schedstat; undefined elsewhere). Busy (serverElu) minus both is time blocked in system calls
   * such as fsync.
   */
  readonly serverOnCpu?: number;
  readonly serverRunQueue?: number;
  /** Seconds the server thread ran on a core over the window (Linux). */
  readonly serverCpuSeconds?: number;
  /** Of those, the share in the kernel (system calls: fsync, socket writes...), to 1/100 s (Linux). */
  readonly serverSystemShare?: number;
}

export type WorkerMessage = { readonly type: 'job'; readonly id: number; readonly job: LoadJob };

type FromWorker =
  | { readonly type: 'window-start'; readonly id: number }
  | { readonly type: 'window-end'; readonly id: number }
  | { readonly type: 'result'; readonly id: number; readonly result: LoadResult }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

export interface HttpLoad {
  /** `onWindow` is called on this thread as the measured window opens and closes (for extra probes). */
  run(job: LoadJob, onWindow?: (edge: 'window-start' | 'window-end') => void): Promise<MeasuredLoad>;
  close(): Promise<void>;
}

function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    total += all;
    busy += all - t.idle;
  }
  return { busy, total };
}

/**
 * This thread's time on a core and waiting for one (ns, /proc/<pid>/task/<tid>/schedstat) and its user
 * and system CPU time (s, fields 14 and 15 of .../stat, in clock ticks of 1/100 s: Linux's USER_HZ).
 * Linux only; the main thread's tid is the pid.
 */
function threadSchedstat(): { onCpu: number; runQueue: number; user: number; system: number } | undefined {
  try {
    const task = `/proc/self/task/${process.pid}`;
    const [onCpu, runQueue] = readFileSync(`${task}/schedstat`, 'utf8').split(' ');
    const stat = readFileSync(`${task}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      onCpu: Number(onCpu),
      runQueue: Number(runQueue),
      user: Number(fields[14 - 3]) / 100,
      system: Number(fields[15 - 3]) / 100,
    };
  } catch {
    return undefined;
  }
}

interface Snapshot {
  readonly at: number;
  readonly elu: ReturnType<typeof performance.eventLoopUtilization>;
  readonly cpu: NodeJS.CpuUsage;
  readonly machine: ReturnType<typeof machineTimes>;
  readonly sched: ReturnType<typeof threadSchedstat>;
}

function takeSnapshot(): Snapshot {
  return {
    at: performance.now(),
    elu: performance.eventLoopUtilization(),
    cpu: process.cpuUsage(),
    machine: machineTimes(),
    sched: threadSchedstat(),
  };
}

function compareSnapshots(start: Snapshot, end: Snapshot): Omit<MeasuredLoad, keyof LoadResult> {
  const wall = Math.max((end.at - start.at) / 1000, 1e-3);
  return {
    serverElu: performance.eventLoopUtilization(end.elu, start.elu).utilization,
    processCores: (end.cpu.user - start.cpu.user + end.cpu.system - start.cpu.system) / 1e6 / wall,
    machineBusy:
      (end.machine.busy - start.machine.busy) / Math.max(1, end.machine.total - start.machine.total),
    ...(start.sched === undefined || end.sched === undefined
      ? {}
      : {
          serverCpuSeconds: (end.sched.onCpu - start.sched.onCpu) / 1e9,
          serverSystemShare:
            (end.sched.system - start.sched.system) /
            Math.max(0.01, end.sched.user - start.sched.user + end.sched.system - start.sched.system),
          serverOnCpu: (end.sched.onCpu - start.sched.onCpu) / 1e9 / wall,
          serverRunQueue: (end.sched.runQueue - start.sched.runQueue) / 1e9 / wall,
        }),
  };
}

/** Starts the load worker. Under tsx the worker needs tsx's loader registered in its own thread. */
export async function startHttpLoad(): Promise<HttpLoad> {
  const workerUrl = new URL(
    import.meta.url.endsWith('.ts') ? './http-load-worker.ts' : './http-load-worker.js',
    import.meta.url,
  );
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(workerUrl.href)}); });`,
        { eval: true },
      )
    : new Worker(workerUrl);
  let nextId = 0;
  const pending = new Map<
    number,
    {
      onWindow: (edge: 'window-start' | 'window-end') => void;
      resolve: (result: LoadResult) => void;
      reject: (error: Error) => void;
    }
  >();
  worker.on('message', (message: FromWorker) => {
    const job = pending.get(message.id);
    if (job === undefined) return;
    if (message.type === 'window-start' || message.type === 'window-end') job.onWindow(message.type);
    else {
      pending.delete(message.id);
      if (message.type === 'result') job.resolve(message.result);
      else job.reject(new Error(`load worker: ${message.message}`));
    }
  });
  const failAll = (error: Error): void => {
    for (const job of pending.values()) job.reject(error);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`load worker exited with code ${code}`)));
  // Fail fast if the worker cannot load (e.g. tsx missing), rather than on the first job.
  await new Promise<void>((resolve, reject) => {
    worker.once('online', resolve);
    worker.once('error', reject);
  });

  return {
    run(job, onWindow) {
      const id = nextId++;
      const edges = new Map<'window-start' | 'window-end', Snapshot>();
      return new Promise<MeasuredLoad>((resolve, reject) => {
        pending.set(id, {
          // The window as this thread sees it: from the worker's window-start message to its window-end.
          onWindow: (edge) => {
            edges.set(edge, takeSnapshot());
            onWindow?.(edge);
          },
          resolve: (result) => {
            const start = edges.get('window-start');
            const end = edges.get('window-end');
            if (start === undefined || end === undefined) {
              reject(new Error('the load worker did not report its measured window'));
              return;
            }
            resolve({ ...result, ...compareSnapshots(start, end) });
          },
          reject,
        });
        worker.postMessage({ type: 'job', id, job } satisfies WorkerMessage);
      });
    },
    async close() {
      worker.removeAllListeners('exit');
      await worker.terminate();
    },
  };
}
