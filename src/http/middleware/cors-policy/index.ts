import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';

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

/**
 * CORS (Fetch Standard §3.2) with a list of origins instead of `*`: an origin not on the list gets
 * no `Access-Control-Allow-Origin`, so its pages cannot read the answer. `Vary: Origin` is set so a
 * cache does not serve one origin's answer to another.
 */
export function corsPolicy(options: CorsPolicyOptions): MiddlewareHandler {
  const allowed = new Set(options.allowedOrigins.map((origin) => origin.replace(/\/$/, '')));
  return cors({
    origin: (origin) => (allowed.has(origin) ? origin : null),
    allowHeaders: [...CORS_ALLOWED_HEADERS],
    exposeHeaders: [
      'Location',
      'ETag',
      'Last-Modified',
      'WWW-Authenticate',
      'Retry-After',
      // Bulk Data $export: the status URL of a kick-off, and a running job's progress.
      'Content-Location',
      'X-Progress',
      'Expires',
    ],
    maxAge: 600,
  });
}
