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
