import type { MiddlewareHandler } from 'hono';
import { CareLedgerError } from '../../../errors/index.js';
import { createOperationOutcomeFromError } from '../../../fhir/operation-outcome.js';
import { hasSocket, requestSocket } from '../../remote-address.js';

export interface LoadSheddingOptions {
  /** Requests handled at once; more wait in the queue. */
  readonly maxInFlight: number;
  /** Requests that may wait for a slot; beyond this, a request is shed at once. */
  readonly maxQueued: number;
  /** How long a request may wait in the queue before it is shed. */
  readonly maxQueueWaitMs: number;
  /** The `Retry-After` of a shed answer, in seconds. */
  readonly retryAfterSeconds: number;
  /**
   * Shed while the event loop has not turned for this long. Synchronous work (SQLite, decryption)
   * never leaves a request "in flight" across a turn, so a burst waits in the sockets instead, where
   * no counter sees it; a loop that has not come round for this long is the sign of that queue.
   */
  readonly maxEventLoopStallMs?: number;
  /** Paths never shed or counted (the health probe, so an overloaded node is not also restarted). */
  readonly exempt?: (path: string) => boolean;
}

/**
 * Lenient enough that a busy but healthy node (a large transaction Bundle, a descheduled process on a
 * shared machine) does not turn away its ordinary clients; tight enough that nobody waits 25 s.
 */
export const DEFAULT_LOAD_SHEDDING: LoadSheddingOptions = {
  maxInFlight: 16,
  maxQueued: 64,
  maxQueueWaitMs: 3_000,
  retryAfterSeconds: 2,
  maxEventLoopStallMs: 3_000,
  exempt: (path) => path === '/health',
};

export interface LoadSheddingStats {
  readonly inFlight: number;
  readonly queued: number;
  readonly shed: number;
}

/**
 * When each connection was accepted. A burst waits in the sockets before the node parses a request
 * (the accept happens at once, the parsing one loop turn at a time), where no counter sees it: the
 * age of a new connection's first request is that wait.
 */
const acceptedAt = new WeakMap<object, number>();

/** Notes when the server accepts each connection; call once on the node's HTTP server. */
export function trackConnectionArrival(server: {
  on(event: 'connection', listener: (socket: object) => void): unknown;
}): void {
  server.on('connection', (socket) => acceptedAt.set(socket, performance.now()));
}

/** How long the first request on a connection waited since the accept (undefined after the first). */
function waitedInSocket(socket: object | undefined): number | undefined {
  if (socket === undefined) return undefined;
  const at = acceptedAt.get(socket);
  if (at === undefined) return undefined;
  acceptedAt.delete(socket);
  return performance.now() - at;
}

type Waiter = { resolve: (admitted: boolean) => void; timer: ReturnType<typeof setTimeout> };

/** How often the event loop's turn is noted (a timer runs only once the loop comes round). */
const TICK_MS = 50;

/**
 * A bounded number of requests in flight and a bounded, time-limited queue; everything beyond is
 * answered at once with 503 and `Retry-After` (RFC 9110 §15.6.4, §10.2.3) instead of piling up on
 * the event loop until every client waits tens of seconds. The queue is first in, first out.
 */
export function loadShedding(options: LoadSheddingOptions): MiddlewareHandler & {
  stats(): LoadSheddingStats;
} {
  let inFlight = 0;
  let shed = 0;
  const queue: Waiter[] = [];
  let lastTurn = performance.now();
  let ticker: ReturnType<typeof setInterval> | undefined;
  const stalled = (): boolean => {
    if (options.maxEventLoopStallMs === undefined) return false;
    if (ticker === undefined) {
      lastTurn = performance.now();
      ticker = setInterval(() => {
        lastTurn = performance.now();
      }, TICK_MS);
      ticker.unref?.();
    }
    return performance.now() - lastTurn > TICK_MS + options.maxEventLoopStallMs;
  };

  const release = () => {
    const next = queue.shift();
    if (next === undefined) {
      inFlight -= 1;
      return;
    }
    // The slot passes straight to the oldest waiter: inFlight is unchanged.
    clearTimeout(next.timer);
    next.resolve(true);
  };

  const admit = (): Promise<boolean> | boolean => {
    if (inFlight < options.maxInFlight) {
      inFlight += 1;
      return true;
    }
    if (queue.length >= options.maxQueued) return false;
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          const at = queue.indexOf(waiter);
          if (at >= 0) queue.splice(at, 1);
          resolve(false);
        }, options.maxQueueWaitMs),
      };
      waiter.timer.unref?.();
      queue.push(waiter);
    });
  };

  const middleware: MiddlewareHandler = async (c, next) => {
    // Only the network edge is shed: a request made in-process (the node's own callers, tests) never
    // waited in a socket and is not one of the clients this protects against.
    if (options.exempt?.(c.req.path) === true || !hasSocket(c)) return next();
    const waited = waitedInSocket(requestSocket(c));
    const stale = waited !== undefined && waited > options.maxQueueWaitMs;
    const admitted = !stale && !stalled() && (await admit());
    if (!admitted) {
      shed += 1;
      const body = createOperationOutcomeFromError(
        new CareLedgerError(
          'ERR_RATE_LIMITED',
          `the node is busy; retry after ${options.retryAfterSeconds} s`,
        ),
      );
      return c.json(body, 503, {
        'content-type': 'application/fhir+json; charset=utf-8',
        'retry-after': String(options.retryAfterSeconds),
        // The connection is not kept for a retry that should come later.
        connection: 'close',
      });
    }
    try {
      await next();
    } finally {
      release();
    }
  };
  return Object.assign(middleware, {
    stats: (): LoadSheddingStats => ({ inFlight, queued: queue.length, shed }),
  });
}
