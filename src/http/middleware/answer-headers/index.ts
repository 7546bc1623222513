import type { Context } from 'hono';

/**
 * Applies `edit` to the headers of the answer a handler made, from a middleware after `next()`. An
 * answer passed through from `fetch()` has immutable headers (Fetch Standard §5.2, guard
 * "immutable"): the first change throws a TypeError before anything is changed, and the answer is
 * replaced by a copy with the same status and body whose headers `edit` then changes.
 */
export function editAnswerHeaders(c: Context, edit: (headers: Headers) => void): void {
  try {
    edit(c.res.headers);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    c.res = new Response(c.res.body, {
      status: c.res.status,
      statusText: c.res.statusText,
      headers: new Headers(c.res.headers),
    });
    edit(c.res.headers);
  }
}

/**
 * Complete answers (decision 0053). The node's edge middleware and the `/fhir` middleware add their
 * headers (security, CORS) to the answer a handler made, after it: each change of a fetch `Headers`
 * object is validated and each answer's headers are then sorted and copied again for node:http,
 * about half of the HTTP shell's own CPU on a read. Instead, for a request where it is known before
 * the handler runs what they would add (a plain GET, no conditional headers, no `_pretty`), the
 * middlewares leave those headers here, a handler that sets no header of its own builds its answer
 * with all of them in one plain object, and the middlewares, seeing that answer, leave it as it is.
 */
// Kept on the request's Context and on the answer themselves: a WeakMap or WeakSet entry per request
// cost more than the headers it saved (ephemerons the collector must trace).
const SECURITY_DUE = Symbol('careledger.securityHeadersDue');
const PREPARED = Symbol('careledger.preparedAnswerHeaders');
const COMPLETE = Symbol('careledger.completeAnswer');
interface Marks {
  [SECURITY_DUE]?: true;
  [PREPARED]?: Readonly<Record<string, string>>;
  [COMPLETE]?: true;
}

/** The edge middleware: this request's answer will get the default security headers. */
export function noteSecurityHeadersDue(c: Context): void {
  (c as Marks)[SECURITY_DUE] = true;
}

/** Whether the edge middleware will add the security headers to this request's answer. */
export function securityHeadersDue(c: Context): boolean {
  return (c as Marks)[SECURITY_DUE] === true;
}

/** The middlewares' headers for this request's answer, known before the handler (see above). */
export function prepareAnswerHeaders(c: Context, headers: Readonly<Record<string, string>>): void {
  (c as Marks)[PREPARED] = headers;
}

/**
 * A 200 FHIR JSON answer with the middlewares' prepared headers and the handler's ETag and
 * Last-Modified, or undefined when none were prepared for this request (the caller then answers as
 * usual, and the middlewares add their headers after it).
 */
export function completeFhirJsonAnswer(
  c: Context,
  body: string,
  etag: string | undefined,
  lastModified: string | undefined,
): Response | undefined {
  const headers = (c as Marks)[PREPARED];
  if (headers === undefined) return undefined;
  const all: Record<string, string> = { ...headers, 'content-type': 'application/fhir+json; charset=utf-8' };
  if (etag !== undefined) all.etag = etag;
  if (lastModified !== undefined) all['last-modified'] = lastModified;
  const answer = new Response(body, { status: 200, headers: all });
  (answer as Marks)[COMPLETE] = true;
  return answer;
}

/** Whether `answer` was built by `completeFhirJsonAnswer` (it has every middleware's headers). */
export function isCompleteAnswer(answer: Response): boolean {
  return (answer as Marks)[COMPLETE] === true;
}
