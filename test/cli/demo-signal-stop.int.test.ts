/**
 * Ctrl-C in a terminal sends SIGINT to the whole foreground process group, and a service manager
 * sends SIGTERM to the group. The demo (`careledger dev`) must then stop in order (nodes stop taking
 * requests and drain their outboxes, the chain is snapshotted, then stopped) and lose no block: after
 * a restart, the block that was the head before the signal is still on the chain with the same hash,
 * and no node rolls its index back. Before the fix, anvil sat in the demo's group, got the signal
 * itself and exited before the final snapshot.
 *
 * Each round starts the demo in its own process group (as a shell does), signals the group, waits for
 * it to exit and restarts it. Rounds alternate SIGINT and SIGTERM; CARELEDGER_SIGNAL_ROUNDS sets how
 * many (the check runs 20). CARELEDGER_SIGNAL_CLI=bin runs the built `bin/careledger.js`
 * instead of the sources (needs `npm run build`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_MEMBERS } from '../../src/cli/commands/dev-consortium.js';
import { CLI_ENTRY_VARIABLE, cliNodeArgs } from '../support/cli-entry.js';
import { findFreePortRange } from '../support/free-port.js';

const ROUNDS = Number(process.env.CARELEDGER_SIGNAL_ROUNDS ?? 2);
const root = join(import.meta.dirname, '..', '..');
const builtCli = process.env.CARELEDGER_SIGNAL_CLI === 'bin';
const entryArgs = builtCli ? [join(root, 'bin', 'careledger.js')] : cliNodeArgs();
const dataDir = mkdtempSync(join(tmpdir(), 'careledger-signal-'));
/**
 * The environment of a fresh shell: nothing of the runner's CareLedger settings leaks in, except which
 * build of the CLI the demo's members run (test/support/cli-entry.ts; the built one's own with `bin`).
 */
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !k.startsWith('CARELEDGER_') || (k === CLI_ENTRY_VARIABLE && !builtCli),
  ),
) as NodeJS.ProcessEnv;

let running: Demo | undefined;
afterAll(async () => {
  if (running !== undefined) await running.stop('SIGKILL');
  if (process.env.CARELEDGER_KEEP_DATA === undefined) rmSync(dataDir, { recursive: true, force: true });
});

/**
 * A chain port and one consecutive node port per demo member (`--base-port`), all free a moment ago
 * and below the ephemeral range: the demo starts again on the same ports after each stop.
 */
async function findDemoPorts(): Promise<{ chainPort: number; basePort: number }> {
  const base = await findFreePortRange(DEMO_MEMBERS.length + 1);
  return { chainPort: base + DEMO_MEMBERS.length, basePort: base };
}

interface Demo {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startDemo(ports: { chainPort: number; basePort: number }): Promise<Demo> {
  const args = [
    ...entryArgs,
    '--data-dir',
    dataDir,
    'dev',
    '--chain-port',
    String(ports.chainPort),
    '--base-port',
    String(ports.basePort),
  ];
  // detached: a new process group led by the demo, as a shell starts a foreground job.
  const child = spawn(process.execPath, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((result) => {
    exit = result;
  });
  const demo: Demo = {
    child,
    output: () => output,
    exited,
    async stop(signal) {
      if (exit === undefined) {
        try {
          process.kill(-(child.pid as number), signal);
        } catch {
          // the group is gone already
        }
      }
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error(`the demo did not exit within 60 s of ${signal}:\n${tail(output)}`)),
          60_000,
        ).unref(),
      );
      return Promise.race([exited, timeout]);
    },
  };
  running = demo;
  const deadline = Date.now() + 180_000;
  while (!output.includes('CareLedger demo consortium is up')) {
    if (exit !== undefined)
      throw new Error(`the demo exited during start-up (${exit.code}):\n${tail(output)}`);
    if (Date.now() > deadline) throw new Error(`the demo did not come up within 180 s:\n${tail(output)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return demo;
}

function tail(text: string): string {
  return text.split('\n').slice(-40).join('\n');
}

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result: T };
  return body.result;
}

async function blockHash(rpcUrl: string, number: number): Promise<string | undefined> {
  const block = await rpc<{ hash: string } | null>(rpcUrl, 'eth_getBlockByNumber', [
    `0x${number.toString(16)}`,
    false,
  ]);
  return block?.hash;
}

interface RunFile {
  chain: { rpcUrl: string; pid?: number };
  nodes: { name: string; url: string; pid?: number }[];
}

/** Running, not a zombie (an orphan's exit status is not always collected in containers). */
function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** What must never appear in the demo's output around a stop and the next start. */
const LOSS = /no longer on the chain|rolling back|anvil exited unexpectedly|snapshot failed/;

describe('careledger dev stopped by a signal to its process group', () => {
  it(
    `loses no block over ${ROUNDS} stops (SIGINT and SIGTERM alternately)`,
    async () => {
      const ports = await findDemoPorts();
      const timings: string[] = [];
      let checkedBlocks = 0;
      let demo = await startDemo(ports);
      for (let round = 1; round <= ROUNDS; round++) {
        const signal: NodeJS.Signals = round % 2 === 1 ? 'SIGINT' : 'SIGTERM';
        const run = JSON.parse(readFileSync(join(dataDir, 'run', 'dev.json'), 'utf8')) as RunFile;
        const rpcUrl = run.chain.rpcUrl;
        const hospital = run.nodes.find((n) => n.name === 'hospital') as RunFile['nodes'][number];
        // A node that indexed the head the moment before the signal: the case that rolled back.
        const { sync } = (await (await fetch(`${hospital.url}/status`)).json()) as {
          sync: { indexedBlock: number | null };
        };
        const height = Number.parseInt(await rpc<string>(rpcUrl, 'eth_blockNumber'), 16);
        const hash = await blockHash(rpcUrl, height);
        const indexed = sync.indexedBlock ?? 0;
        const indexedHash = await blockHash(rpcUrl, indexed);

        const stopStarted = performance.now();
        const exit = await demo.stop(signal);
        const stopSeconds = (performance.now() - stopStarted) / 1000;
        const stopOutput = demo.output();
        expect(exit, `round ${round} (${signal}) exit:\n${tail(stopOutput)}`).toEqual({
          code: 0,
          signal: null,
        });
        // The chain and every node stopped with the supervisor, none left behind.
        for (const pid of [run.chain.pid, ...run.nodes.map((n) => n.pid)])
          expect(isAlive(pid), `round ${round}: pid ${pid} still running`).toBe(false);

        const startStarted = performance.now();
        demo = await startDemo(ports);
        timings.push(
          `${signal} stop ${stopSeconds.toFixed(1)} s, start ${((performance.now() - startStarted) / 1000).toFixed(1)} s`,
        );
        const restartedRun = JSON.parse(readFileSync(join(dataDir, 'run', 'dev.json'), 'utf8')) as RunFile;
        expect(await blockHash(restartedRun.chain.rpcUrl, height), `round ${round}: block ${height}`).toBe(
          hash,
        );
        expect(await blockHash(restartedRun.chain.rpcUrl, indexed), `round ${round}: block ${indexed}`).toBe(
          indexedHash,
        );
        // The node's index catches up past the old head (a rollback would show in the log by then).
        const restartedHospital = restartedRun.nodes.find(
          (n) => n.name === 'hospital',
        ) as RunFile['nodes'][number];
        const until = Date.now() + 60_000;
        for (;;) {
          const status = (await (await fetch(`${restartedHospital.url}/status`)).json()) as {
            sync: { indexedBlock: number | null };
          };
          if ((status.sync.indexedBlock ?? 0) > height) break;
          if (Date.now() > until)
            throw new Error(`round ${round}: the hospital did not index past ${height}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const lossLines = `${stopOutput}\n${demo.output()}`.split('\n').filter((line) => LOSS.test(line));
        expect(lossLines, `round ${round} (${signal})`).toEqual([]);
        checkedBlocks = Math.max(checkedBlocks, height);
      }
      // Last, the supervisor alone is killed (SIGKILL, no ordered stop): the chain (parent-death signal)
      // and the nodes (their IPC channel closes) must not outlive it.
      const run = JSON.parse(readFileSync(join(dataDir, 'run', 'dev.json'), 'utf8')) as RunFile;
      const children = [run.chain.pid, ...run.nodes.map((n) => n.pid)];
      process.kill(demo.child.pid as number, 'SIGKILL');
      await demo.exited;
      const until = Date.now() + 60_000;
      while (children.some(isAlive)) {
        if (Date.now() > until)
          throw new Error(`still running 60 s after the supervisor was killed: ${children.filter(isAlive)}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      running = undefined;
      console.log(
        `demo-signal-stop: ${ROUNDS} stops, none lost a block (head up to ${checkedBlocks} checked by hash); ${timings.join('; ')}`,
      );
    },
    Math.max(600_000, (ROUNDS + 1) * 240_000),
  );
});
