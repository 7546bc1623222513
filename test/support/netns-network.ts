/**
 * A private network of Linux network namespaces for integration tests (issue 17 item 5): each "host"
 * is a namespace with its own loopback and one interface (eth0) on a bridge, with an address in a
 * /24 of 10.77.0.0/16 that this run claims for itself. The bridge itself holds .1, so the test
 * process (the operator's workstation) reaches every host; hosts reach each other directly.
 *
 * Names carry a per-run id, so parallel runs never collide; `close()` removes everything this run
 * made, and an exit hook does the same if the test process ends without it. Needs root and
 * iproute2 (scripts/install-system-deps.sh installs it).
 */
import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NetnsHost {
  readonly name: string;
  /** The namespace (`ip netns exec <namespace> …`). */
  readonly namespace: string;
  /** Its address on the private network. */
  readonly address: string;
}

export interface VirtualLan {
  /** The /24 this run claimed, e.g. 10.77.42.0/24. */
  readonly subnet: string;
  /** The bridge's address: the test process's own address on the network. */
  readonly gateway: string;
  readonly hosts: Readonly<Record<string, NetnsHost>>;
  /** Starts a process inside a host's namespace; it is stopped by `close()` if still running. */
  spawn(host: string, command: string, args: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Cuts a host off: its eth0 goes down inside its namespace (its own address still answers locally). */
  cut(host: string): void;
  /** Brings a host's eth0 back up. */
  reconnect(host: string): void;
  /** Stops the processes started here (SIGTERM, then SIGKILL), deletes the namespaces and the bridge. */
  close(): Promise<void>;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Third octets of 10.77.x.0/24 already routed on this machine. */
function routedOctets(): Set<number> {
  const used = new Set<number>();
  for (const match of ip('-4', 'route', 'show').matchAll(/\b10\.77\.(\d+)\.\d+/g)) used.add(Number(match[1]));
  return used;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims a free 10.77.x.0/24 with a lock file naming this process (created exclusively, so two runs
 * starting together never take the same one); a lock whose process is gone is taken over.
 */
function claimSubnet(): { octet: number; release: () => void } {
  const used = routedOctets();
  const candidates = Array.from({ length: 254 }, (_, i) => i + 1).filter((o) => !used.has(o));
  const start = randomBytes(1)[0] as number;
  for (let i = 0; i < candidates.length; i++) {
    const octet = candidates[(start + i) % candidates.length] as number;
    const lock = join(tmpdir(), `careledger-netns-10.77.${octet}.lock`);
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { octet, release: () => rmSync(lock, { force: true }) };
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(lock, 'utf8').trim());
      } catch {}
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) continue;
      // A run that ended without releasing its subnet: drop its lock (a later run may take it).
      rmSync(lock, { force: true });
    }
  }
  throw new Error('no free 10.77.x.0/24 subnet for the test network');
}

/** Fails with one line if this machine cannot make namespaces (not root, or no iproute2). */
export function verifyNetnsAvailable(): void {
  const probe = `careledger-probe-${process.pid}-${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
  } catch (error) {
    const reason = String((error as { stderr?: string }).stderr ?? (error as Error).message)
      .trim()
      .split('\n')[0];
    throw new Error(
      `netns tests need root and iproute2 (\`ip netns add\` failed: ${reason}); run as root after \`bash scripts/install-system-deps.sh\``,
    );
  }
}

/**
 * Creates one namespace per name in `hostNames`, each on the bridge with its own address (.10, .11, …
 * in that order). On any failure part-way, what was made is removed before the error is thrown.
 */
export function createVirtualLan(hostNames: readonly string[]): VirtualLan {
  verifyNetnsAvailable();
  const { octet, release } = claimSubnet();
  const id = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`.slice(-8);
  const bridge = `clb${id}`;
  const prefix = `10.77.${octet}`;
  const hosts: Record<string, NetnsHost> = {};
  const namespaces: string[] = [];
  const children = new Set<ChildProcess>();
  let closed = false;

  /** Synchronous teardown of names: used by close() and by the exit hook. */
  const removeAll = () => {
    namespaces.forEach((namespace, i) => {
      // Processes still inside (a cluster's forked workers) were started by this run.
      for (const pid of pidsIn(namespace)) killQuietly(pid, 'SIGKILL');
      // Deleting one end of a veth pair deletes both, without waiting for the namespace to go.
      for (const args of [
        ['link', 'del', `clv${id}${i}`],
        ['netns', 'del', namespace],
      ]) {
        try {
          ip(...args);
        } catch {}
      }
    });
    try {
      ip('link', 'del', bridge);
    } catch {}
    release();
  };
  const onExit = () => {
    if (closed) return;
    for (const child of children) if (child.pid !== undefined) killQuietly(child.pid, 'SIGKILL');
    removeAll();
  };
  process.once('exit', onExit);

  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${prefix}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    hostNames.forEach((name, i) => {
      const namespace = `careledger-${id}-${name}`;
      ip('netns', 'add', namespace);
      namespaces.push(namespace);
      const outside = `clv${id}${i}`;
      const inside = `clp${id}${i}`;
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', inside, 'netns', namespace);
      ip('link', 'set', outside, 'master', bridge, 'up');
      ip('-n', namespace, 'link', 'set', inside, 'name', 'eth0');
      ip('-n', namespace, 'addr', 'add', `${prefix}.${10 + i}/24`, 'dev', 'eth0');
      ip('-n', namespace, 'link', 'set', 'lo', 'up');
      ip('-n', namespace, 'link', 'set', 'eth0', 'up');
      hosts[name] = { name, namespace, address: `${prefix}.${10 + i}` };
    });
  } catch (error) {
    closed = true;
    process.removeListener('exit', onExit);
    removeAll();
    throw error;
  }

  const host = (name: string): NetnsHost => {
    const found = hosts[name];
    if (found === undefined) throw new Error(`no host ${name} on the test network`);
    return found;
  };

  return {
    subnet: `${prefix}.0/24`,
    gateway: `${prefix}.1`,
    hosts,
    spawn(name, command, args, options = {}) {
      // `ip netns exec` execs the command: the child's pid is the command's own.
      const child = spawn('ip', ['netns', 'exec', host(name).namespace, command, ...args], options);
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    cut(name) {
      ip('-n', host(name).namespace, 'link', 'set', 'eth0', 'down');
    },
    reconnect(name) {
      ip('-n', host(name).namespace, 'link', 'set', 'eth0', 'up');
    },
    async close() {
      if (closed) return;
      await Promise.all([...children].map((child) => stopChild(child, 15_000)));
      closed = true;
      process.removeListener('exit', onExit);
      removeAll();
    },
  };
}

function pidsIn(namespace: string): number[] {
  try {
    return ip('netns', 'pids', namespace)
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {}
}

/** SIGTERM, and SIGKILL if the process has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
