import type { Context } from 'hono';

/**
 * The TCP peer of a request served by @hono/node-server (`c.env.incoming`), or undefined for a
 * request made in-process (`app.request(...)`), which has no socket. Forwarded headers
 * (`X-Forwarded-For`) are never read: the client writes them.
 */
export function remoteAddress(c: Context): string | undefined {
  const env = c.env as
    | {
        incoming?: { socket?: { remoteAddress?: string } };
        server?: { incoming?: { socket?: { remoteAddress?: string } } };
      }
    | undefined;
  return (env?.server?.incoming ?? env?.incoming)?.socket?.remoteAddress;
}

/** The TCP socket a request came over, or undefined in-process. */
export function requestSocket(c: Context): object | undefined {
  const env = c.env as
    | { incoming?: { socket?: object }; server?: { incoming?: { socket?: object } } }
    | undefined;
  return (env?.server?.incoming ?? env?.incoming)?.socket;
}

/** Whether a request came over a socket at all (false in-process). */
export function hasSocket(c: Context): boolean {
  const env = c.env as { incoming?: unknown; server?: { incoming?: unknown } } | undefined;
  return (env?.server?.incoming ?? env?.incoming) !== undefined;
}

/** 127.0.0.0/8, ::1 and the IPv4-mapped form of a 127/8 address. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1';
}

/** A host name or literal that resolves to loopback only (for bind addresses and Host headers). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || isLoopbackAddress(bare);
}
