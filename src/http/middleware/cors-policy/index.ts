import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { editAnswerHeaders } from '../answer-headers/index.js';

/**
 * Request headers a browser page on an allowed origin may send. The development identity headers
 * (`X-CareLedger-Identity`, `X-CareLedger-Roles`) are deliberately absent: a preflight asking for
 * them is refused, so no web page can claim an identity (issue 14 item 2).
 */
export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Accept',
  'If-Match',
  'If-None-Exist',
  'If-None-Match',
  'Prefer',
  'X-CareLedger-Purpose',
  'X-CareLedger-TOTP',
  'X-CareLedger-Version-Proof',
] as const;

export interface CorsPolicyOptions {
  /** Exact origins (`https://app.example.org`) whose pages may call the API; never `*`. */
  readonly allowedOrigins: readonly string[];
}

/** Answer headers an allowed page may read. */
const EXPOSED_HEADERS = [
  'Location',
  'ETag',
  'Last-Modified',
  'WWW-Authenticate',
  'Retry-After',
  // Bulk Data $export: the status URL of a kick-off, and a running job's progress.
  'Content-Location',
  'X-Progress',
  'Expires',
];

/**
 * CORS (Fetch Standard §3.2) with a list of origins instead of `*`: an origin not on the list gets
 * no `Access-Control-Allow-Origin`, so its pages cannot read the answer. `Vary: Origin` is set so a
 * cache does not serve one origin's answer to another.
 *
 * A preflight (OPTIONS) is answered by `hono/cors`. Other requests get their headers after the
 * handler, on the answer it made: set before it, as `hono/cors` does, they made Hono rebuild every
 * answer (about a tenth of a read's CPU, issue 16). An answer with immutable headers (a fetched
 * Response passed through) is copied once.
 */
export function corsPolicy(options: CorsPolicyOptions): MiddlewareHandler {
  const allowed = new Set(options.allowedOrigins.map((origin) => origin.replace(/\/$/, '')));
  const preflight = cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowHeaders: [...CORS_ALLOWED_HEADERS],
    exposeHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
  const exposed = EXPOSED_HEADERS.join(',');
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return preflight(c, next);
    const origin = c.req.header('origin');
    await next();
    editAnswerHeaders(c, (headers) => {
      headers.append('Vary', 'Origin');
      if (origin !== undefined && allowed.has(origin)) headers.set('Access-Control-Allow-Origin', origin);
      headers.set('Access-Control-Expose-Headers', exposed);
    });
  };
}
