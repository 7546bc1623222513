/**
 * The load generator of bench/http-load.ts, on its own thread so that building and sending requests
 * does not take event-loop time from the server being measured. Runs one job at a time: `connections`
 * loops, each over its own keep-alive connection (an `http.Agent` of one socket), sending one request at a
 * time, from the start of the warm-up to the end of the window; answers are counted (and their
 * latencies kept) if they arrive inside the window. A counted job instead sends a fixed number of
 * requests per connection and counts them all.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import type { LoadJob, LoadResult, WorkerMessage } from './http-load.js';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const URN_UUID = /urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/g;

interface Answer {
  readonly status: number;
  readonly location: string | undefined;
  readonly body: Buffer;
}

function send(
  agent: Agent,
  url: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers:
          body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const location = res.headers.location;
          resolve({ status: res.statusCode ?? 0, location, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A body whose urn:uuid fullUrls (and every other occurrence of those uuids: references, ids,
 * identifiers) are replaced by fresh ones, so that each POST of a transaction Bundle creates new
 * resources instead of rewriting the ones the previous POST created.
 */
function createFreshBody(template: string): () => string {
  const known = new Set([...template.matchAll(URN_UUID)].map((m) => m[1] as string));
  return () => {
    const fresh = new Map<string, string>();
    return template.replace(UUID, (uuid) => {
      if (!known.has(uuid)) return uuid;
      let replacement = fresh.get(uuid);
      if (replacement === undefined) {
        replacement = randomUUID();
        fresh.set(uuid, replacement);
      }
      return replacement;
    });
  };
}

async function runJob(
  job: LoadJob,
  signal: (type: 'window-start' | 'window-end') => void,
): Promise<LoadResult> {
  const url = new URL(job.origin);
  // One agent of one socket per connection loop. A shared agent with maxSockets = connections
  // starved some loops: a loop whose socket was not yet released queued its next request in the
  // agent, and at 16 connections single requests then waited seconds behind the others' rounds.
  const agents = Array.from({ length: job.connections }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const body =
    job.body === undefined ? undefined : job.freshUuids ? createFreshBody(job.body) : () => job.body;
  // Open every connection (one cheap request each) before anything is timed: a busy server accepts new
  // connections slowly, and connections still waiting to be accepted would show as huge latencies.
  await Promise.all(
    agents.map(async (agent) => {
      const answer = await send(agent, url, 'GET', job.connectPath, {});
      if (answer.status !== 200) throw new Error(`GET ${job.connectPath}: ${answer.status}`);
    }),
  );
  const counted = job.requestsPerConnection;
  const latencies: number[] = [];
  const locations: string[] = [];
  let issued = 0;
  let answered = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  // Timed jobs: answers count when they arrive inside the window, whenever their request started, so
  // that work already in flight when the window opens is not left out. Counted jobs: every answer.
  const windowStart = counted === undefined ? start + job.warmupMs : start;
  const deadline = counted === undefined ? windowStart + job.durationMs : Number.POSITIVE_INFINITY;
  let lastEnd = start;
  let eluAtStart: EventLoopUtilization | undefined;
  let clientElu: number | undefined;
  const open = (): void => {
    if (eluAtStart !== undefined) return;
    eluAtStart = performance.eventLoopUtilization();
    signal('window-start');
  };
  const close = (): void => {
    if (clientElu !== undefined) return;
    open();
    clientElu = performance.eventLoopUtilization(eluAtStart).utilization;
    signal('window-end');
  };
  const timers =
    counted === undefined
      ? [setTimeout(open, job.warmupMs), setTimeout(close, job.warmupMs + job.durationMs)]
      : [];
  if (counted !== undefined) open();
  const loop = async (agent: Agent): Promise<void> => {
    for (let n = 0, t0 = performance.now(); t0 < deadline && n < (counted ?? Number.POSITIVE_INFINITY); n++) {
      const path = job.paths[issued++ % job.paths.length] as string;
      let failure: string | undefined;
      try {
        const answer = await send(agent, url, job.method, path, job.headers, body?.());
        if (answer.status >= 200 && answer.status < 300) {
          if (job.collectLocations && answer.location !== undefined) locations.push(answer.location);
        } else failure = `${answer.status} ${answer.body.toString('utf8', 0, 300)}`;
      } catch (error) {
        failure = (error as Error).message;
      }
      const end = performance.now();
      answered += 1;
      if (failure !== undefined) firstError ??= `${job.method} ${path}: ${failure}`;
      if (end >= windowStart && end <= deadline) {
        lastEnd = Math.max(lastEnd, end);
        if (failure === undefined) {
          ok += 1;
          latencies.push(end - t0);
        } else errors += 1;
      }
      t0 = performance.now();
    }
  };
  try {
    await Promise.all(agents.map(loop));
  } finally {
    for (const timer of timers) clearTimeout(timer);
    for (const agent of agents) agent.destroy();
  }
  // The last answers of a timed job may come just before its timer fires (timers never fire early,
  // but may fire late): close the window now if the timer has not.
  close();
  return {
    ok,
    errors,
    seconds: counted === undefined ? job.durationMs / 1000 : (lastEnd - start) / 1000,
    answered,
    latencies,
    locations,
    clientElu: clientElu ?? 0,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

const port = parentPort;
if (port === null) throw new Error('http-load-worker runs as a worker thread');
port.on('message', (message: WorkerMessage) => {
  if (message.type !== 'job') return;
  runJob(message.job, (type) => port.postMessage({ type, id: message.id })).then(
    (result) => port.postMessage({ type: 'result', id: message.id, result }),
    (error: unknown) => port.postMessage({ type: 'failed', id: message.id, message: String(error) }),
  );
});
