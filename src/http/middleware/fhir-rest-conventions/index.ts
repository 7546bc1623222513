import type { MiddlewareHandler } from 'hono';
import { CareLedgerError } from '../../../errors/index.js';
import { toErrorResponse } from '../../error-response.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** `_format` values that name JSON (R4 http.html §2.21.0.6). */
const JSON_FORMATS = new Set(['json', 'application/json', 'application/fhir+json', 'application/json+fhir']);
/** Media ranges of an Accept header this API can answer. */
const SERVED = [
  /^\*\/\*$/,
  /^application\/\*$/,
  /^application\/(fhir\+)?json$/,
  /^application\/json\+fhir$/,
  /^application\/(fhir\+)?ndjson$/,
  /^ndjson$/,
];

function mediaRanges(header: string): { type: string; q: number }[] {
  return header
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q === undefined ? 1 : Number(q.slice(2)) };
    })
    .filter((r) => r.type !== '' && !(r.q <= 0));
}

/**
 * Refuses, before any work, what the node cannot produce or read: `_format` or an Accept header
 * naming only XML or other formats is a 406, a body in XML a 415 (no well-kept JavaScript library
 * round-trips R4 XML; decision in docs/decisions/0011-fhir-rest-interactions.md).
 */
function negotiate(
  format: string | undefined,
  accept: string | undefined,
  contentType: string | undefined,
): void {
  if (format !== undefined && !JSON_FORMATS.has(format.split(';')[0]?.trim().toLowerCase() ?? '')) {
    throw new CareLedgerError('ERR_NOT_ACCEPTABLE', 'this server answers in JSON only (_format)', {
      details: { parameter: '_format' },
    });
  }
  if (format === undefined && accept !== undefined && accept.trim() !== '') {
    const ranges = mediaRanges(accept);
    if (ranges.length > 0 && !ranges.some((r) => SERVED.some((re) => re.test(r.type)))) {
      throw new CareLedgerError('ERR_NOT_ACCEPTABLE', 'this server answers in JSON only (Accept)', {
        details: { parameter: 'Accept' },
      });
    }
  }
  if (contentType !== undefined && /xml/i.test(contentType)) {
    throw new CareLedgerError(
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      'this server reads FHIR JSON only (Content-Type)',
      {
        details: { parameter: 'Content-Type' },
      },
    );
  }
}

/** `Prefer: return=...` (R4 http.html §3.1.0.4.1), for create, update and patch. */
function preferredReturn(prefer: string | undefined): 'minimal' | 'representation' | 'OperationOutcome' {
  const match = /(?:^|[,;\s])return=("?)(minimal|representation|OperationOutcome)\1/.exec(prefer ?? '');
  return (match?.[2] as 'minimal' | 'representation' | 'OperationOutcome' | undefined) ?? 'representation';
}

/** A POST that creates (to `/Type`, not a search, an operation or the base's Bundle). */
function isCreate(method: string, path: string): boolean {
  if (method === 'PUT' || method === 'PATCH') return true;
  if (method !== 'POST') return false;
  const segments = path.split('/').filter((s) => s !== '');
  const last = segments[segments.length - 1] ?? '';
  return segments.length >= 2 && /^[A-Z][A-Za-z]+$/.test(last);
}

/** If-None-Match (a weak ETag, or *) and If-Modified-Since against the answer's ETag and Last-Modified. */
function notModified(
  ifNoneMatch: string | undefined,
  ifModifiedSince: string | undefined,
  etag: string | null,
  lastModified: string | null,
): boolean {
  if (ifNoneMatch !== undefined && etag !== null) {
    const tags = ifNoneMatch.split(',').map((t) => t.trim().replace(/^W\//, ''));
    return tags.includes('*') || tags.includes(etag.replace(/^W\//, ''));
  }
  if (ifModifiedSince !== undefined && lastModified !== null) {
    const since = Date.parse(ifModifiedSince);
    const modified = Date.parse(lastModified);
    return !Number.isNaN(since) && !Number.isNaN(modified) && modified <= since;
  }
  return false;
}

/**
 * The FHIR REST conventions every `/fhir` route shares, so no route can forget them: content
 * negotiation (`_format`, Accept, Content-Type), `_pretty`, `Prefer: return` on create, update and
 * patch, and conditional reads (`If-None-Match`, `If-Modified-Since` → 304). The read is still
 * judged and audited by the vault before a 304 is decided: a 304 says as much as a 200's ETag.
 */
export function fhirRestConventions(): MiddlewareHandler {
  return async (c, next) => {
    // Hono's own query reading (no URL parsed per request: a few percent of a read, issue 16).
    try {
      negotiate(
        c.req.query('_format'),
        c.req.header('accept'),
        c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.method === 'DELETE'
          ? undefined
          : c.req.header('content-type'),
      );
    } catch (error) {
      const { status, body } = toErrorResponse(error);
      return c.body(JSON.stringify(body), status as 406, { 'Content-Type': FHIR_JSON });
    }
    await next();
    const response = c.res;
    const method = c.req.method;
    if (
      (method === 'GET' || method === 'HEAD') &&
      response.status === 200 &&
      notModified(
        c.req.header('if-none-match'),
        c.req.header('if-modified-since'),
        response.headers.get('etag'),
        response.headers.get('last-modified'),
      )
    ) {
      const headers = new Headers();
      for (const name of ['etag', 'last-modified', 'cache-control', 'x-content-type-options']) {
        const value = response.headers.get(name);
        if (value !== null) headers.set(name, value);
      }
      c.res = new Response(null, { status: 304, headers });
      return;
    }
    const isJson = (response.headers.get('content-type') ?? '').includes('json');
    if (isJson && (response.status === 200 || response.status === 201) && isCreate(method, c.req.path)) {
      const wanted = preferredReturn(c.req.header('prefer'));
      if (wanted !== 'representation') {
        const headers = new Headers(response.headers);
        if (wanted === 'minimal') {
          headers.delete('content-type');
          c.res = new Response(null, { status: response.status, headers });
          return;
        }
        const outcome = {
          resourceType: 'OperationOutcome',
          issue: [
            {
              severity: 'information',
              code: 'informational',
              diagnostics: response.status === 201 ? 'created' : 'updated',
            },
          ],
        };
        c.res = new Response(JSON.stringify(outcome), { status: response.status, headers });
        return;
      }
    }
    if (isJson && c.req.query('_pretty') === 'true' && response.body !== null) {
      const text = await response.text();
      let pretty = text;
      try {
        pretty = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Not one JSON document (NDJSON): left as it is.
      }
      c.res = new Response(pretty, { status: response.status, headers: response.headers });
    }
  };
}
