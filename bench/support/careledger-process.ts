/**
 * A CareLedger member node in a process of its own (`careledger node start`), on a fresh solo folder
 * (embedded anvil, contracts deployed with this node as the only member, development identity header
 * on), so that a benchmark can measure the node's CPU from /proc as it measures any other server's.
 *
 * Run directly, it starts one such node and prints its FHIR base and process ids, e.g. to stand in
 * for the peer of `npm run bench -- --only peer` when no other FHIR server is at hand:
 *   npx tsx bench/support/careledger-process.ts    (Ctrl-C stops it and removes its folder)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort } from '../../test/support/free-port.js';
import { prepareSoloNode } from '../../test/support/start-solo-node.js';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** Development identity of a clinician working for the node's own organisation (TREAT). */
export const CARELEDGER_STAFF_HEADERS: Readonly<Record<string, string>> = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'x-careledger-purpose': 'TREAT',
};

export interface CareLedgerProcess {
  /** `http://127.0.0.1:<port>/fhir` */
  readonly fhirBase: string;
  /** The node process and its anvil: the processes whose CPU is the node's. */
  readonly pids: readonly number[];
  /** The node process alone (its workers are its children). */
  readonly nodePid: number;
  stop(): Promise<void>;
}

/** Resolves when the node prints `listening on`; rejects with its last lines if it exits first. */
export function waitForListening(child: ChildProcess): Promise<void> {
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() !== '') lines.push(line);
        if (line.includes('listening on')) resolve();
      }
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(
        new Error(
          `the node process exited (${code}): ${[...lines.filter((l) => /error/i.test(l)).slice(0, 5), ...lines.slice(-3)].join(' | ')}`,
        ),
      ),
    );
  });
}

export interface CareLedgerProcessOptions {
  /** `node start --workers` (default: the command's own, one per core). */
  readonly workers?: number;
  /** Flags for the node runtime of the process, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
  /** Modules the process imports before the CLI, after tsx (so they may be TypeScript). */
  readonly preload?: readonly string[];
  /** Environment beside this process's own, e.g. `CARELEDGER_DATABASE_URL`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Another copy of this repository to run the node from (before/after comparisons); default this one. */
  readonly root?: string;
}

export async function startCareLedgerProcess(
  options: CareLedgerProcessOptions = {},
): Promise<CareLedgerProcess> {
  const port = await findFreePort();
  const origin = `http://127.0.0.1:${port}`;
  const folder = await prepareSoloNode({ port, publicUrl: origin });
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    }
    await folder.chain.stop();
    rmSync(folder.dir, { recursive: true, force: true });
  };
  try {
    const workers = options.workers === undefined ? [] : ['--workers', String(options.workers)];
    child = spawn(
      process.execPath,
      [
        ...(options.nodeFlags ?? []),
        '--import',
        'tsx',
        ...(options.preload ?? []).flatMap((module) => ['--import', module]),
        options.root === undefined ? MAIN : join(options.root, 'src', 'cli', 'main.ts'),
        'node',
        'start',
        '--dir',
        folder.nodeDir,
        ...workers,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
    );
    await waitForListening(child);
    child.removeAllListeners('exit');
    const pids = [child.pid, folder.chain.pid].filter((p): p is number => p !== undefined);
    return { fhirBase: `${origin}/fhir`, pids, nodePid: child.pid as number, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const node = await startCareLedgerProcess();
  const headers = Object.entries(CARELEDGER_STAFF_HEADERS)
    .map(([name, value]) => `--peer-header '${name}: ${value}'`)
    .join(' ');
  process.stdout.write(
    `CareLedger node at ${node.fhirBase} (pids ${node.pids.join(',')}); as a peer:\n` +
      `npm run bench -- --only peer --peer-url ${node.fhirBase} ${headers} --peer-pids ${node.pids.join(',')}\n`,
  );
  const shutdown = (): void => {
    void node.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
