/**
 * One member whose processes run on hosts of their own (decision 0026), for
 * test/network/netns-member-hosts.int.test.ts: the member's folder made once (`node init` and a
 * one-member `chain deploy`), copied to each further host after the first start (the folder then holds
 * the vault keystore, which every process of the member must share), and on each host one
 * `careledger node start --host <its address>` over HTTPS, all on the member's PostgreSQL.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { deployConsortium } from '../../src/network/deploy-consortium.js';
import { initNode } from '../../src/network/init-node.js';
import { nodePaths } from '../../src/node/node-config.js';
import { cliNodeArgs } from './cli-entry.js';
import { CHAIN_ID, type MemberFolder, waitFor } from './netns-consortium.js';
import type { VirtualLan } from './netns-network.js';
import { stopChild } from './netns-network.js';
import type { TestCa } from './netns-tls.js';
import { ANVIL_PRIVATE_KEYS } from './test-anvil.js';

export const MEMBER_PORT = 8443;

/** `node init` on `firstHost`'s address and a consortium of this one member (k = 1). */
export async function initMemberFolder(
  lan: VirtualLan,
  work: string,
  chainUrl: string,
  ca: TestCa,
  firstHost: string,
): Promise<MemberFolder> {
  const address = lan.hosts[firstHost]?.address as string;
  // The URL other members call: in production a load balancer's name in front of every host.
  const url = `https://${address}:${MEMBER_PORT}`;
  const dir = join(work, `clinic-${firstHost}`);
  const deploymentFile = join(work, 'deployment.json');
  const { config, member } = await initNode({
    dir,
    name: 'clinic',
    organization: 'Netns clinic',
    role: 'provider',
    publicUrl: url,
    chainRpc: chainUrl,
    chainId: CHAIN_ID,
    deploymentFile,
    host: address,
    port: MEMBER_PORT,
  });
  const keyFile = join(work, 'deployer.key');
  writeFileSync(keyFile, `${ANVIL_PRIVATE_KEYS[0]}\n`, { mode: 0o600 });
  await deployConsortium({
    rpcUrl: chainUrl,
    keyFile,
    genesis: { threshold: 1, members: [member] },
    out: deploymentFile,
  });
  return {
    name: 'clinic',
    host: firstHost,
    dir,
    url,
    member,
    config,
    adminToken: readFileSync(nodePaths(dir).adminToken, 'utf8').trim(),
    tls: ca.issue(`clinic-${firstHost}`, address),
  };
}

/**
 * The member's folder as another host gets it: keys, keystore, node.json and tokens; not the first
 * host's own SQLite file (node.db), which each host keeps for itself.
 */
export function copyMemberFolder(from: string, to: string): void {
  cpSync(from, to, {
    recursive: true,
    preserveTimestamps: true,
    // Nor a file being written at the moment (writeFileDurably's `<name>.tmp-<pid>`).
    filter: (source) => !/^node\.db(-wal|-shm)?$|\.tmp-\d+$/.test(basename(source)),
  });
}

export interface MemberProcessOnHost {
  readonly host: string;
  readonly url: string;
  readonly child: ChildProcess;
  /** The process's log lines (last 400). */
  readonly lines: string[];
}

/** `node start --host <address> --workers 1` inside `host`'s namespace; resolves once it listens. */
export async function startMemberProcess(
  lan: VirtualLan,
  host: string,
  options: {
    readonly dir: string;
    readonly ca: TestCa;
    readonly tls: { readonly certFile: string; readonly keyFile: string };
    readonly databaseUrl: string;
    readonly leaseMs: number;
  },
): Promise<MemberProcessOnHost> {
  const address = lan.hosts[host]?.address as string;
  const environment = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('CARELEDGER_')),
  );
  const child = lan.spawn(
    host,
    process.execPath,
    [
      ...cliNodeArgs(),
      'node',
      'start',
      '--dir',
      options.dir,
      '--host',
      address,
      '--workers',
      '1',
      '--sequencer-lease-ms',
      String(options.leaseMs),
      '--tls-cert',
      options.tls.certFile,
      '--tls-key',
      options.tls.keyFile,
    ],
    {
      env: {
        ...environment,
        CARELEDGER_DATABASE_URL: options.databaseUrl,
        NODE_EXTRA_CA_CERTS: options.ca.certFile,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const take = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        if (lines.length > 400) lines.shift();
        if (line.includes('listening on')) resolve();
      }
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    child.once('exit', (code) =>
      reject(
        new Error(`the process on ${host} exited during start (${code}): ${lines.slice(-8).join(' | ')}`),
      ),
    );
  });
  return { host, url: `https://${address}:${MEMBER_PORT}`, child, lines };
}

export function isRunning(p: MemberProcessOnHost): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** Stops the member's processes (SIGTERM; SIGKILL after 20 s). */
export async function stopMemberProcesses(processes: readonly MemberProcessOnHost[]): Promise<void> {
  await Promise.all(processes.map((p) => stopChild(p.child, 20_000)));
}

/** The sequencer role a process reports on /status ('leader' | 'follower'), or undefined if it does not answer. */
export async function sequencerRole(
  p: MemberProcessOnHost,
  httpsFetch: typeof fetch,
  adminToken: string,
): Promise<string | undefined> {
  try {
    const response = await httpsFetch(`${p.url}/status`, {
      headers: { authorization: `Bearer ${adminToken}` },
      signal: AbortSignal.timeout(2_000),
    });
    const body = (await response.json()) as { log?: { sequencer?: { role?: string } } };
    return body.log?.sequencer?.role;
  } catch {
    return undefined;
  }
}

/** Waits until exactly one of `among` reports leading; returns it. */
export async function waitForOneLeader(
  among: readonly MemberProcessOnHost[],
  httpsFetch: typeof fetch,
  adminToken: string,
  seconds: number,
): Promise<MemberProcessOnHost> {
  let leader: MemberProcessOnHost | undefined;
  await waitFor(
    'exactly one process holds the sequencer lease',
    async () => {
      const roles = await Promise.all(among.map((p) => sequencerRole(p, httpsFetch, adminToken)));
      const leaders = among.filter((_, i) => roles[i] === 'leader');
      leader = leaders.length === 1 ? leaders[0] : undefined;
      return leader !== undefined;
    },
    seconds,
    () => `\n${among.map((p) => `-- ${p.host}:\n${p.lines.slice(-10).join('\n')}`).join('\n')}`,
  );
  return leader as MemberProcessOnHost;
}
