import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { CareLedgerError } from '../errors/index.js';
import { toErrorResponse } from './error-response.js';
import {
  DEFAULT_LOAD_SHEDDING,
  type LoadSheddingOptions,
  loadShedding,
} from './middleware/load-shedding/index.js';
import { securityHeaders } from './middleware/security-headers/index.js';

export interface NodeAppOptions {
  /** Request body limit in bytes (413 beyond it). */
  readonly maxBodyBytes?: number;
  readonly onError?: (error: unknown, request: { method: string; path: string }) => void;
  /** Overload shedding (503 with Retry-After beyond these bounds); `false` turns it off. */
  readonly loadShedding?: Partial<LoadSheddingOptions> | false;
}

/**
 * The node's HTTP shell: a Hono app whose errors are OperationOutcomes. Routes are mounted by the
 * composition root; the app is tested in-process with `app.request(...)`.
 */
export function createNodeApp(options: NodeAppOptions = {}): Hono {
  const app = new Hono();
  // First: a shed request costs nothing more than its answer.
  if (options.loadShedding !== false) {
    app.use('*', loadShedding({ ...DEFAULT_LOAD_SHEDDING, ...options.loadShedding }));
  }
  app.use('*', securityHeaders());
  const limitBody = bodyLimit({
    maxSize: options.maxBodyBytes ?? 8 * 1024 * 1024,
    onError: () => {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the request body is too large', {
        details: { status: 413 },
      });
    },
  });
  // @hono/node-server gives GET and HEAD requests no body, and asking a request for its body makes
  // it build a whole fetch Request (with an AbortController): 6-7% of a read's CPU (issue 16).
  app.use('*', (c, next) =>
    c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next),
  );
  app.onError((error, c) => {
    const isBodyLimit = error instanceof CareLedgerError && error.details.status === 413;
    const { status, body } = toErrorResponse(error);
    if (status === 500) options.onError?.(error, { method: c.req.method, path: c.req.path });
    return c.json(body, isBodyLimit ? 413 : (status as 400), {
      'content-type': 'application/fhir+json; charset=utf-8',
      // A transient failure (chain or log unavailable): tell the client when to try again (RFC 9110 §10.2.3).
      ...(status === 503 ? { 'retry-after': '2' } : {}),
      // RFC 6585 §4: too many failed attempts; the throttle says when the next one is allowed.
      ...(status === 429 && error instanceof CareLedgerError && typeof error.details.retryAfter === 'number'
        ? { 'retry-after': String(error.details.retryAfter) }
        : {}),
      // RFC 6750 §3.1: a token that lacks the scope for the request.
      ...(error instanceof CareLedgerError && error.details.oauth === 'insufficient_scope'
        ? { 'www-authenticate': 'Bearer realm="careledger", error="insufficient_scope"' }
        : {}),
    });
  });
  app.notFound((c) => {
    const { body } = toErrorResponse(
      new CareLedgerError('ERR_NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`),
    );
    return c.json(body, 404, { 'content-type': 'application/fhir+json; charset=utf-8' });
  });
  return app;
}
