import { type ErrorHandler, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { CareLedgerError } from '../errors/index.js';
import { toErrorResponse } from './error-response.js';
import { isCompleteAnswer, noteSecurityHeadersDue } from './middleware/answer-headers/index.js';
import {
  createLoadShedder,
  DEFAULT_LOAD_SHEDDING,
  type LoadShedder,
  type LoadSheddingOptions,
} from './middleware/load-shedding/index.js';
import { addSecurityHeaders } from './middleware/security-headers/index.js';

export interface NodeAppOptions {
  /** Request body limit in bytes (413 beyond it). */
  readonly maxBodyBytes?: number;
  readonly onError?: (error: unknown, request: { method: string; path: string }) => void;
  /** Overload shedding (503 with Retry-After beyond these bounds); `false` turns it off. */
  readonly loadShedding?: Partial<LoadSheddingOptions> | false;
}

const errorHandlers = new WeakMap<Hono, ErrorHandler>();

/**
 * The error handler `createNodeApp` gave `app` (errors as OperationOutcomes), for a middleware that
 * makes an error into its answer itself, as Hono's compose does between two middlewares.
 */
export function nodeErrorHandler(app: Hono): ErrorHandler {
  const handler = errorHandlers.get(app);
  if (handler === undefined) throw new Error('not an app made by createNodeApp');
  return handler;
}

/**
 * The node's HTTP shell: a Hono app whose errors are OperationOutcomes. Routes are mounted by the
 * composition root; the app is tested in-process with `app.request(...)`.
 */
export function createNodeApp(options: NodeAppOptions = {}): Hono {
  const app = new Hono();
  const limitBody = bodyLimit({
    maxSize: options.maxBodyBytes ?? 8 * 1024 * 1024,
    onError: () => {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the request body is too large', {
        details: { status: 413 },
      });
    },
  });
  const handleError: ErrorHandler = (error, c) => {
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
  };
  const shedder =
    options.loadShedding === false
      ? undefined
      : createLoadShedder({ ...DEFAULT_LOAD_SHEDDING, ...options.loadShedding });
  /**
   * The edge, one middleware instead of three (decision 0053): load shedding first (a shed request
   * costs nothing more than its answer, which gets no other header), then the body limit, then the
   * security headers on whatever answer comes back, errors included. The body-limit middleware's
   * own refusal is turned into its answer here, as Hono's compose did for it as a middleware of its
   * own, so that it gets the security headers too.
   */
  app.use('*', async (c, next) => {
    const admission = shedder === undefined ? 'exempt' : shedder.admit(c);
    if (admission !== 'exempt' && admission !== true && (admission === false || !(await admission)))
      return (shedder as LoadShedder).shedAnswer(c);
    noteSecurityHeadersDue(c);
    try {
      try {
        // @hono/node-server gives GET and HEAD requests no body, and asking a request for its body
        // makes it build a whole fetch Request (with an AbortController): 6-7% of a read's CPU (issue 16).
        const method = c.req.method;
        const answer = await (method === 'GET' || method === 'HEAD' ? next() : limitBody(c, next));
        if (answer instanceof Response && !c.finalized) c.res = answer;
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        c.error = error;
        c.res = await handleError(error, c);
      }
      // An answer built complete (answer-headers: decision 0053) has them already.
      if (!isCompleteAnswer(c.res)) addSecurityHeaders(c);
    } finally {
      if (admission !== 'exempt') shedder?.release();
    }
  });
  app.onError(handleError);
  errorHandlers.set(app, handleError);
  app.notFound((c) => {
    const { body } = toErrorResponse(
      new CareLedgerError('ERR_NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`),
    );
    return c.json(body, 404, { 'content-type': 'application/fhir+json; charset=utf-8' });
  });
  return app;
}
