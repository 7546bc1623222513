import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * Test servers take ports below Linux's ephemeral range (32768–60999 by default). A port handed out
 * by `listen(0)` lies inside it, and a test that stops a server and starts it again on the same port
 * can find it taken meanwhile as the local end of some process's outgoing connection (a clean-clone
 * CI run failed so: EADDRINUSE on a restart).
 */
const LOWEST_TEST_PORT = 20_000;

/** The lowest port Linux hands out for outgoing connections. */
export function ephemeralFloor(): number {
  try {
    const low = Number.parseInt(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'), 10);
    if (Number.isInteger(low) && low > LOWEST_TEST_PORT + 1_000) return low;
  } catch {
    // Not Linux, or /proc hidden: assume the default.
  }
  return 32_768;
}

/** A random port of `width` consecutive ones, all below the ephemeral range. */
export function randomTestPort(width = 1): number {
  const ceiling = ephemeralFloor() - width;
  return LOWEST_TEST_PORT + Math.floor(Math.random() * (ceiling - LOWEST_TEST_PORT));
}

function listenOn(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** `width` consecutive ports on 127.0.0.1 from the first returned, all free a moment ago. */
export async function findFreePortRange(width: number): Promise<number> {
  for (;;) {
    const base = randomTestPort(width);
    const servers = await Promise.all(Array.from({ length: width }, (_, i) => listenOn(base + i)));
    await Promise.all(servers.flatMap((server) => (server === undefined ? [] : [close(server)])));
    if (servers.every((server) => server !== undefined)) return base;
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  return findFreePortRange(1);
}

/** `count` distinct free ports: each is held open until all are found, so none is handed out twice. */
export async function findFreePorts(count: number): Promise<number[]> {
  const held: { port: number; server: Server }[] = [];
  while (held.length < count) {
    const port = randomTestPort();
    if (held.some((h) => h.port === port)) continue;
    const server = await listenOn(port);
    if (server !== undefined) held.push({ port, server });
  }
  await Promise.all(held.map((h) => close(h.server)));
  return held.map((h) => h.port);
}
