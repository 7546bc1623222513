import type { MiddlewareHandler } from 'hono';
import { editAnswerHeaders } from '../answer-headers/index.js';

/**
 * What an answer gets when its route set no policy of its own: no content of any kind may load, and
 * no page may frame it (CSP Level 3 `default-src 'none'`, `frame-ancestors 'none'`; RFC 7034 for
 * browsers without CSP). Pages that need more (the portal, the sign-in page, printable copies) set
 * their own, which is kept.
 */
export const DEFAULT_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * On every answer: `X-Content-Type-Options: nosniff` (Fetch Standard §3.6: a browser must not
 * reinterpret JSON or text as script or HTML), and `Cache-Control: no-store` unless the route chose
 * its own caching (RFC 9111 §5.2.2.5: no cache, shared or private, keeps PHI; the public discovery
 * documents, log tiles and portal assets set theirs), and the default content security policy and
 * `X-Frame-Options: DENY` unless the route set its own. Errors pass through here too (Hono's onError
 * answer is the response this middleware sees).
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    editAnswerHeaders(c, (headers) => {
      headers.set('X-Content-Type-Options', 'nosniff');
      if (!headers.has('Cache-Control')) headers.set('Cache-Control', 'no-store');
      if (!headers.has('Content-Security-Policy')) {
        headers.set('Content-Security-Policy', DEFAULT_CONTENT_SECURITY_POLICY);
      }
      if (!headers.has('X-Frame-Options')) headers.set('X-Frame-Options', 'DENY');
    });
  };
}
