import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CareLedgerError } from '../errors/index.js';
import { writeFileDurably } from '../storage/write-file-durably.js';
import { resolveAnvilBinary } from './anvil-binary.js';
import { type AnvilStateDump, compactAnvilState } from './compact-anvil-state.js';
import { callRpc, isRpcUp } from './rpc.js';

export interface EmbeddedChainOptions {
  /** Folder for the chain's own state (snapshots, anvil's cache). */
  readonly dir: string;
  readonly port: number;
  readonly chainId?: number;
  readonly blockTimeSeconds?: number;
  /** How often a snapshot is taken while blocks are being mined. */
  readonly snapshotIntervalMs?: number;
  /** Restart anvil when it dies on its own (a supervisor's job in `careledger dev`). */
  readonly restartOnCrash?: boolean;
  /**
   * Blocks of history kept across restarts (default 86,400: a day of 1 s blocks). Older blocks and
   * transactions are dropped when anvil starts from its snapshot; contract state is always kept.
   * When the history anvil holds reaches twice this many blocks, the supervisor restarts it from a
   * fresh, compacted snapshot, so memory, snapshot size and start-up time stay bounded by two windows.
   */
  readonly historyBlocks?: number;
  readonly onLog?: (line: string) => void;
}

export interface ChainSnapshotInfo {
  readonly blockNumber: number;
  readonly bytes: number;
  readonly durationMs: number;
}

const SNAPSHOT_FILE = 'anvil-state.json.gz';
/** How long anvil may take to answer after a start (loading a large snapshot took 7–20 s loaded). */
const START_TIMEOUT_MS = 60_000;
const LOAD_FILE = 'anvil-state.load.json';
/** Sidecar: the oldest block the snapshot holds and the block it was taken at. */
const META_FILE = 'anvil-state.meta.json';

/**
 * The embedded consortium chain: anvil from npm, on 127.0.0.1 only.
 *
 * anvil's own persistence is not crash-safe (LEDGER-FACTS: `--dump-state` writes nothing on SIGKILL and
 * `--state-interval` rewrites its file in place), so the supervisor takes its own snapshots with
 * `anvil_dumpState`, written to a temporary file, fsynced and renamed over the previous one. Whatever
 * a crash loses after the last snapshot is re-sent by the nodes' durable outboxes.
 *
 * Interval mining (`--block-time`), never automine: automine stalls with concurrent writers.
 */
export class EmbeddedChain {
  readonly rpcUrl: string;
  private readonly options: Required<Omit<EmbeddedChainOptions, 'onLog'>> &
    Pick<EmbeddedChainOptions, 'onLog'>;
  private child: ChildProcess | undefined;
  /** Set by stop(): no restart after it. */
  private closing = false;
  /** Children this supervisor stops on purpose (compaction, stop, a start-up that timed out). */
  private readonly expectedExits = new WeakSet<ChildProcess>();
  private snapshotTimer: NodeJS.Timeout | undefined;
  private snapshotting: Promise<ChainSnapshotInfo | undefined> | undefined;
  private lastSnapshotBlock = -1;
  /** The oldest block the running anvil holds (after the last compaction). */
  private oldestBlock = 0;
  private restarting: Promise<void> | undefined;
  private restartAttempts = 0;
  private lastRestartError: string | undefined;
  /** Number of times anvil was (re)started by this supervisor. */
  starts = 0;

  constructor(options: EmbeddedChainOptions) {
    this.options = {
      chainId: 31337,
      blockTimeSeconds: 1,
      snapshotIntervalMs: 2_000,
      restartOnCrash: true,
      historyBlocks: Number(process.env.CARELEDGER_CHAIN_HISTORY_BLOCKS ?? 86_400),
      ...options,
    };
    this.rpcUrl = `http://127.0.0.1:${options.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get snapshotPath(): string {
    return join(this.options.dir, SNAPSHOT_FILE);
  }

  private get metaPath(): string {
    return join(this.options.dir, META_FILE);
  }

  /** True when the snapshot holds more than `historyBlocks` of history (per the sidecar record). */
  private needsCompaction(): boolean {
    try {
      const meta = JSON.parse(readFileSync(this.metaPath, 'utf8')) as {
        oldestBlock?: number;
        snapshotBlock?: number;
      };
      return (meta.snapshotBlock ?? 0) - (meta.oldestBlock ?? 0) > this.options.historyBlocks;
    } catch {
      return true;
    }
  }

  async start(): Promise<void> {
    this.closing = false;
    mkdirSync(this.options.dir, { recursive: true });
    if (await isRpcUp(this.rpcUrl)) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        `port ${this.options.port} already has a chain answering; stop it first`,
      );
    }
    await this.launch();
    this.scheduleSnapshot(this.options.snapshotIntervalMs);
  }

  /**
   * Snapshots run on a timer whose period adapts: at least `snapshotIntervalMs`, and at least 5 × the
   * last snapshot's duration, so dumping a large state never takes more than a fifth of anvil's time
   * (measured: 9.9 s per dump at 10^5 transactions). What a longer period leaves out of the snapshot
   * is still in the nodes' outboxes.
   */
  private scheduleSnapshot(delayMs: number): void {
    this.snapshotTimer = setTimeout(() => {
      void this.snapshot()
        .then((info) => {
          if (this.snapshotTimer === undefined) return;
          this.scheduleSnapshot(Math.max(this.options.snapshotIntervalMs, 5 * (info?.durationMs ?? 0)));
        })
        .catch((error: unknown) => {
          this.log(`snapshot failed: ${(error as Error).message}`);
          if (this.snapshotTimer !== undefined) this.scheduleSnapshot(this.options.snapshotIntervalMs);
        });
    }, delayMs);
    this.snapshotTimer.unref();
  }

  private async launch(): Promise<void> {
    const home = join(this.options.dir, 'home');
    // Killed anvils leave large caches under ~/.foundry/anvil/tmp (LEDGER-FACTS); ours live here.
    rmSync(join(home, '.foundry', 'anvil', 'tmp'), { recursive: true, force: true });
    mkdirSync(home, { recursive: true });
    const args = [
      '--host',
      '127.0.0.1',
      '--port',
      String(this.options.port),
      '--chain-id',
      String(this.options.chainId),
      '--block-time',
      String(this.options.blockTimeSeconds),
      '--prune-history',
      '--no-request-size-limit',
      '--base-fee',
      '0',
      '--gas-price',
      '0',
      '--gas-limit',
      '1000000000',
      '--disable-code-size-limit',
      '--silent',
    ];
    // The snapshot is loaded by anvil itself before it answers any request: a client must never see
    // the empty chain of a restart (it would simulate calls against contracts that are not there).
    if (existsSync(this.snapshotPath)) {
      const loadPath = join(this.options.dir, LOAD_FILE);
      const json = gunzipSync(readFileSync(this.snapshotPath));
      // Parsing and rewriting a large state costs seconds: only when history outgrew the window.
      if (this.needsCompaction()) {
        const state = JSON.parse(json.toString('utf8')) as AnvilStateDump;
        const compaction = compactAnvilState(state, this.options.historyBlocks);
        this.log(
          `history compacted: ${compaction.blocksBefore - compaction.blocksAfter} blocks and ` +
            `${compaction.transactionsBefore - compaction.transactionsAfter} transactions older than ` +
            `${this.options.historyBlocks} blocks dropped`,
        );
        writeFileSync(loadPath, JSON.stringify(state));
        const oldestBlock = Math.max(0, (state.best_block_number ?? 0) - this.options.historyBlocks);
        writeFileDurably(
          this.metaPath,
          JSON.stringify({ oldestBlock, snapshotBlock: state.best_block_number ?? 0 }),
        );
      } else {
        writeFileSync(loadPath, json);
      }
      args.push('--load-state', loadPath);
    }
    const [command, commandArgs] = withParentDeathSignal(resolveAnvilBinary(), args);
    const child = spawn(command, commandArgs, {
      env: { ...process.env, HOME: home },
      stdio: ['ignore', 'ignore', 'pipe'],
      // Its own process group: a terminal's Ctrl-C (SIGINT to the foreground group) or a SIGTERM to the
      // demo's group reaches only the supervisor, which snapshots the chain before it stops anvil.
      // anvil in the group got the signal itself and exited before the final snapshot (issue 15).
      detached: true,
    });
    this.child = child;
    this.starts += 1;
    child.once('error', (error) => this.log(`anvil could not be started: ${error.message}`));
    child.stderr?.on('data', (chunk: Buffer) => this.log(`anvil: ${chunk.toString().trim()}`));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.closing || this.expectedExits.has(child)) return;
      this.log(`anvil exited unexpectedly (code ${code}, signal ${signal})`);
      // One restart loop at a time: a child that dies while it starts is the loop's to retry.
      if (this.options.restartOnCrash && this.restarting === undefined) {
        this.restarting = this.restartUntilUp().finally(() => {
          this.restarting = undefined;
        });
      }
    });
    await this.waitUntilUp(child);
    rmSync(join(this.options.dir, LOAD_FILE), { force: true });
    this.lastSnapshotBlock = await this.blockNumber();
    try {
      this.oldestBlock =
        (JSON.parse(readFileSync(this.metaPath, 'utf8')) as { oldestBlock?: number }).oldestBlock ?? 0;
    } catch {
      this.oldestBlock = 0;
    }
    this.log(`anvil up at ${this.rpcUrl} (block ${this.lastSnapshotBlock}, pid ${child.pid})`);
  }

  private async waitUntilUp(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new CareLedgerError(
          'ERR_CHAIN_UNAVAILABLE',
          `anvil exited during start-up (code ${child.exitCode}, signal ${child.signalCode})`,
        );
      }
      if (await isRpcUp(this.rpcUrl)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Not left running: a late answer from it would race the next attempt for the port.
    this.expectedExits.add(child);
    if (this.child === child) this.child = undefined;
    await terminate(child, 0);
    throw new CareLedgerError(
      'ERR_CHAIN_UNAVAILABLE',
      `anvil did not answer within ${START_TIMEOUT_MS / 1000} s of start-up`,
    );
  }

  /**
   * After a crash: start anvil again until it answers, each attempt bounded (START_TIMEOUT_MS) and
   * each failure logged, with a growing pause between attempts (1 s, 2 s, 4 s, … 10 s). A restart
   * that failed once is not the end: the nodes' outboxes wait for the chain, so giving up would
   * leave every relay waiting forever.
   */
  private async restartUntilUp(): Promise<void> {
    for (let attempt = 1; !this.closing; attempt++) {
      this.restartAttempts = attempt;
      try {
        await this.launch();
        this.lastRestartError = undefined;
        return;
      } catch (error) {
        this.lastRestartError = (error as Error).message;
        const pauseMs = Math.min(1_000 * 2 ** (attempt - 1), 10_000);
        this.log(`restart ${attempt} failed: ${this.lastRestartError}; next attempt in ${pauseMs / 1000} s`);
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  }

  /**
   * Waits for a restart under way (after a crash) to finish, at most `timeoutMs`; then fails, saying
   * how many attempts were made and why the last one failed.
   */
  async whenReady(timeoutMs = 120_000): Promise<void> {
    const restarting = this.restarting;
    if (restarting === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const last = this.lastRestartError === undefined ? '' : `; last failure: ${this.lastRestartError}`;
        reject(
          new CareLedgerError(
            'ERR_CHAIN_UNAVAILABLE',
            `the chain did not come back within ${timeoutMs / 1000} s (${this.restartAttempts} start attempt(s)${last})`,
          ),
        );
      }, timeoutMs);
    });
    try {
      await Promise.race([restarting, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async blockNumber(): Promise<number> {
    return Number.parseInt(await callRpc<string>(this.rpcUrl, 'eth_blockNumber'), 16);
  }

  /**
   * Takes a snapshot now if blocks were mined since the last one: `anvil_dumpState`, written to a
   * temporary file, fsynced, renamed over the old snapshot, and the folder fsynced (so the rename
   * itself survives a power cut).
   */
  snapshot(options: { force?: boolean } = {}): Promise<ChainSnapshotInfo | undefined> {
    if (this.snapshotting !== undefined) return this.snapshotting;
    this.snapshotting = this.takeSnapshot(options.force ?? false).finally(() => {
      this.snapshotting = undefined;
    });
    return this.snapshotting;
  }

  private async takeSnapshot(force: boolean): Promise<ChainSnapshotInfo | undefined> {
    // Nothing to take while anvil is down or restarting after a crash (it starts from the last one).
    if (this.child === undefined || this.restarting !== undefined) return undefined;
    const started = performance.now();
    const head = await this.blockNumber();
    if (!force && head === this.lastSnapshotBlock) return undefined;
    // anvil_dumpState answers with the gzipped JSON state as hex; we keep the gzip bytes.
    const hex = await callRpc<string>(this.rpcUrl, 'anvil_dumpState', [], 120_000);
    const gzipped = Buffer.from(hex.replace(/^0x/, ''), 'hex');
    writeFileDurably(this.snapshotPath, gzipped);
    writeFileDurably(this.metaPath, JSON.stringify({ oldestBlock: this.oldestBlock, snapshotBlock: head }));
    this.lastSnapshotBlock = head;
    // Compact when the history held reaches twice the window, so a restart happens at most once per window.
    if (head - this.oldestBlock > 2 * this.options.historyBlocks && this.child !== undefined) {
      await this.restartCompacted();
    }
    return { blockNumber: head, bytes: gzipped.length, durationMs: performance.now() - started };
  }

  /**
   * A maintenance restart from the snapshot just taken, which compacts old history away. Clients see
   * the chain unavailable for about a second; the outbox and chain sync retry on their own.
   */
  private async restartCompacted(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.log(`restarting the chain to compact ${this.options.historyBlocks}+ blocks of history`);
    this.expectedExits.add(child);
    await terminate(child);
    this.restarting = this.restartUntilUp().finally(() => {
      this.restarting = undefined;
    });
    await this.restarting;
  }

  /**
   * Simulates a crash: SIGKILL, no snapshot. Resolves once the exit is seen, by when a restart (if
   * `restartOnCrash`) is under way and `whenReady` waits for it.
   */
  kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    return exited;
  }

  async stop(): Promise<void> {
    if (this.snapshotTimer !== undefined) clearTimeout(this.snapshotTimer);
    this.snapshotTimer = undefined;
    // A restart loop under way ends after its current attempt (bounded by START_TIMEOUT_MS).
    this.closing = true;
    await this.restarting;
    const child = this.child;
    if (child === undefined) return;
    try {
      // A periodic snapshot under way may have read the head before the nodes stopped: wait for it,
      // then take the final one, which holds every block a node could have seen.
      await this.snapshotting?.catch(() => undefined);
      await this.snapshot({ force: true });
    } catch (error) {
      this.log(`final snapshot failed: ${(error as Error).message}`);
    }
    this.expectedExits.add(child);
    await terminate(child);
    this.child = undefined;
  }

  private log(line: string): void {
    this.options.onLog?.(line);
  }
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => existsSync(path));

/**
 * On Linux, util-linux `setpriv --pdeathsig` sets PR_SET_PDEATHSIG (prctl(2)) and then execs the
 * command in place (same pid): the kernel sends SIGTERM to anvil when the supervisor dies, even by
 * SIGKILL, which a child in its own process group would otherwise outlive. Without setpriv, the next
 * start stops a leftover anvil through the run file.
 */
function withParentDeathSignal(command: string, args: string[]): [string, string[]] {
  if (process.platform !== 'linux' || SETPRIV === undefined) return [command, args];
  return [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', command, ...args]];
}

export async function terminate(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
