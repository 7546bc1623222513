import type { MiddlewareHandler } from 'hono';

/**
 * On every answer: `X-Content-Type-Options: nosniff` (Fetch Standard §3.6: a browser must not
 * reinterpret JSON or text as script or HTML), and `Cache-Control: no-store` unless the route chose
 * its own caching (RFC 9111 §5.2.2.5: no cache, shared or private, keeps PHI; the public discovery
 * documents, log tiles and portal assets set theirs). Errors pass through here too (Hono's onError
 * answer is the response this middleware sees).
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    let headers = c.res.headers;
    try {
      headers.set('X-Content-Type-Options', 'nosniff');
    } catch {
      // A response passed through from fetch() has immutable headers: answer with a copy.
      c.res = new Response(c.res.body, {
        status: c.res.status,
        statusText: c.res.statusText,
        headers: new Headers(headers),
      });
      headers = c.res.headers;
      headers.set('X-Content-Type-Options', 'nosniff');
    }
    if (!headers.has('Cache-Control')) headers.set('Cache-Control', 'no-store');
  };
}
