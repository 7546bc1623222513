import type { MiddlewareHandler } from 'hono';
import { CareLedgerError } from '../../../errors/index.js';
import { createOperationOutcomeFromError } from '../../../fhir/operation-outcome.js';

export interface LoadSheddingOptions {
  /** Requests handled at once; more wait in the queue. */
  readonly maxInFlight: number;
  /** Requests that may wait for a slot; beyond this, a request is shed at once. */
  readonly maxQueued: number;
  /** How long a request may wait in the queue before it is shed. */
  readonly maxQueueWaitMs: number;
  /** The `Retry-After` of a shed answer, in seconds. */
  readonly retryAfterSeconds: number;
  /** Paths never shed or counted (the health probe, so an overloaded node is not also restarted). */
  readonly exempt?: (path: string) => boolean;
}

export const DEFAULT_LOAD_SHEDDING: LoadSheddingOptions = {
  maxInFlight: 32,
  maxQueued: 64,
  maxQueueWaitMs: 2_000,
  retryAfterSeconds: 2,
  exempt: (path) => path === '/health',
};

export interface LoadSheddingStats {
  readonly inFlight: number;
  readonly queued: number;
  readonly shed: number;
}

type Waiter = { resolve: (admitted: boolean) => void; timer: ReturnType<typeof setTimeout> };

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
    if (options.exempt?.(c.req.path) === true) return next();
    const admitted = await admit();
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
