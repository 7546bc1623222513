import cluster, { type Worker } from 'node:cluster';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { CareLedgerError } from '../../errors/index.js';
import { DATABASE_URL_ENV } from '../../storage/open-node-storage.js';
import { isPostgresUrl } from '../../storage/postgres/postgres-database.js';
import { loadNodeConfig } from '../node-config.js';
import { type RunningNode, type StartNodeOptions, startNode, verifyHostSecrets } from '../start-node.js';
import { isWorkerMessage } from './messages.js';
import { type NodeBroadcast, NodeEventListeners } from './node-broadcast.js';
import { SequencerClient } from './sequencer-client.js';
import { SequencerServer, type WorkerChannel } from './sequencer-server.js';

/** The default number of HTTP processes of a member: one per core. */
export function defaultWorkerCount(): number {
  return availableParallelism();
}

export function parseWorkerCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new CareLedgerError('ERR_INVALID_INPUT', '--workers is a whole number from 1 to 256');
  return n;
}

/** A whole-number option of `node start` (`--port`, `--sequencer-lease-ms`) within [min, max]. */
export function parseWholeOption(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new CareLedgerError('ERR_INVALID_INPUT', `${flag} is a whole number from ${min} to ${max}`);
  return n;
}

/**
 * `node start --host`: the address this process listens on, an IP address (or `localhost`). A name
 * that resolves elsewhere is refused: each machine binds its own interface (decision 0026).
 */
export function parseBindAddress(text: string): string {
  if (text === 'localhost' || isIP(text) !== 0) return text;
  throw new CareLedgerError('ERR_INVALID_INPUT', '--host is an IP address of this machine (or localhost)');
}

export interface MemberProcesses {
  /** Stops the workers, then the primary (which drains its outbox and closes the database). */
  close(): Promise<void>;
}

export interface StartMemberOptions
  extends Pick<StartNodeOptions, 'tls' | 'port' | 'host' | 'log' | 'databaseUrl' | 'sequencerLeaseMs'> {
  readonly workers: number;
}

/**
 * Runs one member as `workers` HTTP processes sharing its port and its database (decision 0014), from
 * the process that called it: in the cluster's primary this starts the sequencer and forks the
 * workers; in a forked worker (the same command, re-run by node:cluster) it starts that worker.
 * With one worker, the member is one ordinary process.
 */
export async function startMemberProcesses(
  dir: string,
  options: StartMemberOptions,
): Promise<MemberProcesses> {
  if (options.workers <= 1 && cluster.isPrimary) {
    const running = await startNode(dir, options);
    return { close: () => running.close() };
  }
  // Decision 0022: on PostgreSQL each process is a whole node that stands for election as the log's
  // sequencer through the database; the primary only keeps `workers` of them running.
  if (isPostgresUrl(options.databaseUrl ?? process.env[DATABASE_URL_ENV])) {
    if (cluster.isPrimary) {
      await verifyHostSecrets(dir, options, options.log ?? stderrLine);
      return superviseWorkers(
        options,
        options.log ?? stderrLine,
        loadNodeConfig(dir).name,
        'the log sequencer is elected through the database',
      );
    }
    const running = await startNode(dir, options);
    return { close: () => running.close() };
  }
  return cluster.isPrimary ? startPrimary(dir, options) : startWorker(dir, options);
}

function stderrLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function startWorker(dir: string, options: StartMemberOptions): Promise<MemberProcesses> {
  const client = new SequencerClient(process as unknown as ConstructorParameters<typeof SequencerClient>[0]);
  let running: RunningNode | undefined;
  let closing: Promise<void> | undefined;
  // Once: the CLI's own disconnect and signal handlers close it too.
  const close = () => {
    closing ??= running?.close() ?? Promise.resolve();
    return closing;
  };
  // The primary is the member's one writer: without it nothing can be acknowledged, so the worker goes.
  process.on('disconnect', () => {
    void close().finally(() => process.exit(0));
  });
  running = await startNode(dir, {
    ...options,
    worker: { appender: client, broadcast: client.broadcast },
  });
  return { close };
}

async function startPrimary(dir: string, options: StartMemberOptions): Promise<MemberProcesses> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const listeners = new NodeEventListeners();
  let server: SequencerServer | undefined;
  const broadcast: NodeBroadcast = {
    publish: (event) => (server === undefined ? listeners.deliver(event) : server.publish(event)),
    subscribe: (listener) => listeners.subscribe(listener),
  };
  const running = await startNode(dir, { ...options, primary: { broadcast } });
  const sequencer = running.sequencer;
  if (sequencer === undefined)
    throw new CareLedgerError('ERR_INTERNAL', 'the primary does not sequence its log');
  // One channel object per worker: the sequencer gathers its answers per channel.
  const channels = new WeakMap<Worker, WorkerChannel>();
  const channel = (worker: Worker): WorkerChannel => {
    let known = channels.get(worker);
    if (known === undefined) {
      known = {
        send: (message, callback) => {
          worker.send(message, undefined, callback);
        },
        get connected() {
          return worker.isConnected();
        },
      };
      channels.set(worker, known);
    }
    return known;
  };
  server = new SequencerServer({
    log: sequencer.log,
    currentVersion: sequencer.currentVersion,
    workers: () => Object.values(cluster.workers ?? {}).flatMap((w) => (w === undefined ? [] : [channel(w)])),
    deliverLocally: (event) => listeners.deliver(event),
  });
  const sequencerServer = server;
  cluster.on('message', (worker, message: unknown) => {
    if (isWorkerMessage(message)) sequencerServer.handle(channel(worker), message);
  });
  const workers = await superviseWorkers(options, log, running.config.name);
  return {
    async close() {
      await workers.close();
      await running.close();
    },
  };
}

/**
 * A worker's V8 flags: the primary's, with a young generation of 64 MiB semi-spaces unless one is
 * set. A request allocates short-lived objects (the parsed request, the decrypted record, the
 * AuditEvent's text); with V8's default 16 MiB the scavenges took about 8.5% of a read's CPU, with 64
 * about 4.3% (profile shares, same load). At most 3 × 48 MiB more heap per worker.
 */
export function workerExecArgv(primary: readonly string[]): string[] {
  return primary.some((flag) => flag.startsWith('--max-semi-space-size'))
    ? [...primary]
    : [...primary, '--max-semi-space-size=64'];
}

/** sysexits.h EX_CONFIG, what `careledger` exits with on ERR_CONFIG (src/cli/exit-codes.ts). */
const WORKER_CONFIG_EXIT = 78;

/**
 * Forks `options.workers` processes that share the member's port, replaces any that dies, and stops
 * them on close. `name` is how the log lines name the member.
 */
async function superviseWorkers(
  options: StartMemberOptions,
  log: (line: string) => void,
  name: string,
  sequencing = 'this process sequences the log',
): Promise<MemberProcesses> {
  cluster.setupPrimary({ serialization: 'advanced', execArgv: workerExecArgv(process.execArgv) });
  let stopping = false;
  let started = false;
  // A worker that dies is replaced; what it had not been answered for was never acknowledged. One
  // that dies while the member starts is not: its reason (printed by the worker) is the member's.
  cluster.on('exit', (worker, code, signal) => {
    if (stopping || !started) return;
    log(`[${name}] worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    cluster.fork();
  });
  const forks = Array.from({ length: options.workers }, () => cluster.fork());
  await Promise.all(
    forks.map(
      (worker) =>
        new Promise<void>((resolve, reject) => {
          worker.once('listening', () => resolve());
          worker.once('exit', (code) => {
            stopping = true;
            for (const other of Object.values(cluster.workers ?? {})) other?.kill();
            // Exit 78 (EX_CONFIG): the worker refused its configuration (a secret that is not the
            // member's, decision 0033; a bad node.json): the member exits 78 too, not 70.
            reject(
              code === WORKER_CONFIG_EXIT
                ? new CareLedgerError(
                    'ERR_CONFIG',
                    'a worker refused to start: its reason is printed above',
                    {
                      details: { reason: 'worker-config' },
                    },
                  )
                : new CareLedgerError('ERR_INTERNAL', `a worker exited during start (${code})`),
            );
          });
        }),
    ),
  );
  started = true;
  log(`[${name}] ${options.workers} worker processes serving; ${sequencing}`);
  return {
    async close() {
      stopping = true;
      const exits = Object.values(cluster.workers ?? {}).map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker === undefined || worker.isDead()) return resolve();
            worker.once('exit', () => resolve());
            worker.disconnect();
          }),
      );
      await Promise.all(exits);
    },
  };
}
