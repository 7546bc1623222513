/**
 * `npx tsx bench/fhir-cpu-probe.ts [--only read,create,search] [--requests 2000] [--rounds 3]
 *  [--workers 1] [--profile <dir>] [--trees <root>,<root>] [--chunk 100] [--observations 37]`: CPU milliseconds the hospital node's process spends per request
 * on the everyday path of the peer comparison (issue 16): read Patient by id, create Patient,
 * `Observation?subject=…&_count=20` (20 of 37, or of `--observations`), every protection on (decryption, the access decision,
 * a signed AuditEvent committed durably to the transparency log before the answer).
 *
 * The node runs as `careledger node start` in a process of its own (one process with `--workers 1`,
 * the default here), loaded from this process with 16 requests in flight, a fixed number of requests
 * per workload; its CPU is utime + stime of /proc/<pid>/stat (the node process and its worker
 * processes, not anvil) before and after. That figure does not depend on how busy the machine is
 * the way requests/s does, so runs on a shared machine can be compared. Workloads interleave by
 * round; the median of the rounds is printed, with the load average. With `--profile <dir>` the node
 * runs under `node --cpu-prof` and writes its profile there when it stops (run one workload at a
 * time then, so the profile is that workload's; summarise it with prof.js). With `--trees`, one node
 * per copy of the repository (e.g. the commit before a change and the one after, `git archive` into
 * folders with a `node_modules` link), the same data loaded into each and every workload run on each
 * in turn, `--chunk` requests at a time, the order alternating by round: a before/after comparison
 * under the same conditions.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { CARELEDGER_STAFF_HEADERS, startCareLedgerProcess } from './support/careledger-process.js';
import { cpuBetween, processTree, readProcCpu, snapshotCpu } from './support/proc-cpu.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'read,create,search' },
    requests: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    chunk: { type: 'string', default: '100' },
    workers: { type: 'string', default: '1' },
    profile: { type: 'string' },
    trees: { type: 'string' },
    'node-flags': { type: 'string' },
    // Observations of the searched patient (the search's page stays 20): how a search's cost follows the store.
    observations: { type: 'string', default: '37' },
  },
});
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const IN_FLIGHT = 16;
const OBSERVATIONS = Number(values.observations);
const NEW_PATIENT = JSON.stringify({
  resourceType: 'Patient',
  name: [{ family: 'Bench', given: ['Ada'] }],
  gender: 'female',
  birthDate: '1980-02-03',
});
const HEADERS = {
  ...CARELEDGER_STAFF_HEADERS,
  'content-type': 'application/fhir+json',
  accept: 'application/fhir+json',
};

type Request = (i: number) => Promise<Response>;

/** write_bytes and syscw of /proc/<pid>/io (bytes sent to storage, write system calls); needs the same user. */
function processIo(pid: number): { writeBytes: number; writeCalls: number } {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) =>
      Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { writeBytes: field('write_bytes'), writeCalls: field('syscw') };
  } catch {
    return { writeBytes: Number.NaN, writeCalls: Number.NaN };
  }
}

/** Answers 503 (load shedding) and sent again; their CPU is in the figures, so keep it near 0. */
let shed = 0;
/** Requests whose idle keep-alive connection was reset under them, sent again. */
let reset = 0;

async function load(count: number, request: Request): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < count) {
        const i = next++;
        for (;;) {
          let response: Response;
          try {
            response = await request(i);
          } catch (error) {
            // A keep-alive connection the node closed while it sat idle (the other side's turn) races
            // the next request on it; undici does not retry a POST. Counted and sent again.
            if ((error as { cause?: { code?: string } }).cause?.code !== 'ECONNRESET') throw error;
            reset++;
            continue;
          }
          const text = await response.text();
          if (response.ok) break;
          // Shed by the node's load shedding on a crowded machine: counted, sent again a little later.
          if (response.status !== 503)
            throw new Error(`request ${i}: ${response.status} ${text.slice(0, 200)}`);
          shed++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }),
  );
}

const roots: (string | undefined)[] = values.trees === undefined ? [undefined] : values.trees.split(',');
const nodes: Awaited<ReturnType<typeof startCareLedgerProcess>>[] = [];

/** Loads the data into one node and returns its workloads. */
async function prepare(base: string): Promise<Record<string, Request>> {
  const post = (path: string, body: string) =>
    fetch(`${base}${path}`, { method: 'POST', headers: HEADERS, body });
  const json = async (response: Promise<Response>) => (await (await response).json()) as { id: string };
  const patientIds: string[] = [];
  for (let i = 0; i < IN_FLIGHT * 4; i++) patientIds.push((await json(post('/Patient', NEW_PATIENT))).id);
  const subject = (await json(post('/Patient', NEW_PATIENT))).id;
  for (let i = 0; i < OBSERVATIONS; i++)
    await json(
      post(
        '/Observation',
        JSON.stringify({
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
          subject: { reference: `Patient/${subject}` },
          effectiveDateTime: '2026-01-01T10:00:00Z',
          valueQuantity: { value: 60 + i, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
        }),
      ),
    );
  return {
    read: (i) => fetch(`${base}/Patient/${patientIds[i % patientIds.length]}`, { headers: HEADERS }),
    create: () => post('/Patient', NEW_PATIENT),
    search: () => fetch(`${base}/Observation?subject=Patient/${subject}&_count=20`, { headers: HEADERS }),
  };
}

try {
  for (const root of roots)
    nodes.push(
      await startCareLedgerProcess({
        workers: Number(values.workers),
        ...(root === undefined ? {} : { root }),
        nodeFlags: [
          ...(values.profile === undefined
            ? []
            : ['--cpu-prof', `--cpu-prof-dir=${values.profile}`, '--cpu-prof-interval=250']),
          // e.g. --perf-basic-prof, for `perf record -p <pid>` (the pid is printed on stderr)
          ...(values['node-flags']?.split(' ').filter((f) => f !== '') ?? []),
        ],
      }),
    );
  process.stderr.write(`node pids: ${nodes.map((n) => n.pids[0]).join(', ')}\n`);
  const sides = await Promise.all(
    nodes.map(async (node, i) => ({
      label: roots[i] ?? 'this tree',
      pid: node.pids[0] as number,
      workloads: await prepare(node.fhirBase),
    })),
  );
  const chosen = (values.only ?? '').split(',').filter((w) => w in (sides[0]?.workloads ?? {}));
  const figures = new Map<string, number[]>();
  // A warm-up of each, so that compiled code and caches are in place before anything counts.
  for (const side of sides)
    for (const name of chosen) await load(Math.min(1000, REQUESTS), side.workloads[name] as Request);
  // Within a round the sides take turns every CHUNK requests, so that a change in the machine's load
  // (which moves CPU time per request too: shared caches, a busy sibling core) hits both alike.
  const CHUNK = Math.min(Number(values.chunk), REQUESTS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of chosen) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      const used = order.map(() => ({
        cpuMs: 0,
        userMs: 0,
        systemMs: 0,
        writeBytes: 0,
        writeCalls: 0,
        seconds: 0,
      }));
      for (let done = 0; done < REQUESTS; done += CHUNK) {
        const count = Math.min(CHUNK, REQUESTS - done);
        for (const [k, side] of order.entries()) {
          const sum = used[k] as (typeof used)[number];
          const pids = processTree(side.pid);
          const before = snapshotCpu(pids);
          const nodeBefore = readProcCpu(side.pid);
          const ioBefore = processIo(side.pid);
          const t0 = performance.now();
          await load(count, side.workloads[name] as Request);
          sum.seconds += (performance.now() - t0) / 1000;
          sum.cpuMs += cpuBetween(before, snapshotCpu(pids)).totalMs;
          const nodeAfter = readProcCpu(side.pid);
          const ioAfter = processIo(side.pid);
          if (nodeBefore !== undefined && nodeAfter !== undefined) {
            sum.userMs += nodeAfter.userMs - nodeBefore.userMs;
            sum.systemMs += nodeAfter.systemMs - nodeBefore.systemMs;
          }
          sum.writeBytes += ioAfter.writeBytes - ioBefore.writeBytes;
          sum.writeCalls += ioAfter.writeCalls - ioBefore.writeCalls;
        }
      }
      for (const [k, side] of order.entries()) {
        const sum = used[k] as (typeof used)[number];
        const key = `${name} @ ${side.label}`;
        figures.set(key, [...(figures.get(key) ?? []), sum.cpuMs / REQUESTS]);
        process.stderr.write(
          `round ${round + 1} ${key}: ${(sum.cpuMs / REQUESTS).toFixed(3)} ms CPU/request (system ${((100 * sum.systemMs) / (sum.userMs + sum.systemMs)).toFixed(0)}%), ${(sum.writeBytes / REQUESTS / 1024).toFixed(1)} KiB and ${(sum.writeCalls / REQUESTS).toFixed(1)} write calls/request, ${(REQUESTS / sum.seconds).toFixed(0)} req/s, load ${loadavg()[0]?.toFixed(1)}\n`,
        );
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  process.stdout.write(
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
        requestsPerRound: REQUESTS,
        shedAndRetried: shed,
        resetAndRetried: reset,
        workers: Number(values.workers),
        cpuMsPerRequest: Object.fromEntries(
          [...figures].map(([name, xs]) => [
            name,
            { median: Number(median(xs).toFixed(3)), rounds: xs.map((x) => Number(x.toFixed(3))) },
          ]),
        ),
      },
      null,
      2,
    )}\n`,
  );
} finally {
  for (const node of nodes) await node.stop();
}
