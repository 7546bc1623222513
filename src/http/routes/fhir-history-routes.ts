import type { Resource } from '@medplum/fhirtypes';
import { type Context, Hono } from 'hono';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import { FHIR_JSON } from './fhir-response.js';

/** R4 http.html §3.1.0.10: `_count` is the page size; the node serves at most this many per page. */
const MAX_COUNT = 500;
const DEFAULT_COUNT = 50;

export interface FhirHistoryRouteDeps {
  readonly repository: Pick<FhirRepository, 'history' | 'typeHistory'>;
  readonly authenticate: (c: Context) => Promise<AccessContext>;
  /** Throws the 404 for a type the node does not serve; answers the type. */
  readonly resourceType: (c: Context) => string;
  /** Throws the 400 for a malformed id; answers the id. */
  readonly resourceId: (c: Context) => string;
}

interface Version {
  readonly versionId: number;
  readonly lastUpdated: string;
  readonly deleted: boolean;
  readonly resource?: Resource;
}

/** One entry of a history Bundle (R4 §3.1.0.10): the version, and the interaction that made it. */
function historyEntry(fullUrl: string, type: string, id: string, v: Version) {
  return {
    fullUrl,
    ...(v.resource === undefined ? {} : { resource: v.resource }),
    request: {
      method: v.deleted ? 'DELETE' : v.versionId === 1 ? 'POST' : 'PUT',
      url: v.versionId === 1 && !v.deleted ? type : `${type}/${id}`,
    },
    response: {
      status: v.deleted ? '204' : v.versionId === 1 ? '201' : '200',
      lastModified: v.lastUpdated,
      etag: `W/"${v.versionId}"`,
    },
  };
}

function invalid(parameter: string, message: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', message, { details: { parameter } });
}

/** R4 http.html §3.1.0.10's parameters (`_list` aside), the node's page cursor, and the transport's. */
const HISTORY_PARAMETERS = new Set(['_count', '_since', '_at', '_cursor', '_format', '_pretty']);

/** A parameter the node does not serve is refused, not dropped: history would list what was not asked. */
function verifyHistoryParameters(c: Context): void {
  for (const name of new URL(c.req.url).searchParams.keys()) {
    if (!HISTORY_PARAMETERS.has(name))
      throw invalid(name, `${name} is not a history parameter of this server (_count, _since, _at)`);
  }
}

function countOf(c: Context): number {
  const text = c.req.query('_count') ?? String(DEFAULT_COUNT);
  if (!/^[0-9]{1,4}$/.test(text)) throw invalid('_count', '_count must be a whole number');
  return Math.min(MAX_COUNT, Number(text));
}

function sinceOf(c: Context): string | undefined {
  const since = c.req.query('_since');
  if (since === undefined) return undefined;
  if (Number.isNaN(Date.parse(since))) throw invalid('_since', '_since must be a FHIR instant');
  return new Date(since).toISOString();
}

/** The page cursor the node wrote into its own next link: versions strictly below it. */
function cursorOf(c: Context): number | undefined {
  const cursor = c.req.query('_cursor');
  if (cursor === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(cursor)) throw invalid('_cursor', '_cursor is not a page of this server');
  return Number(cursor);
}

/**
 * `_at` (R4 §3.1.0.10): the period a FHIR dateTime of any precision covers, [start, end); a version
 * is listed when it was current at some point in it.
 */
function atOf(c: Context): { start: number; end: number } | undefined {
  const at = c.req.query('_at');
  if (at === undefined) return undefined;
  const match = /^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(T.+)?)?)?$/.exec(at);
  if (match === null) throw invalid('_at', '_at must be a FHIR dateTime');
  const [, year, month, day, time] = match;
  if (time !== undefined) {
    const instant = Date.parse(at);
    if (Number.isNaN(instant)) throw invalid('_at', '_at must be a FHIR dateTime');
    return { start: instant, end: instant + 1 };
  }
  const y = Number(year);
  if (month === undefined) return { start: Date.UTC(y, 0, 1), end: Date.UTC(y + 1, 0, 1) };
  const m = Number(month) - 1;
  if (day === undefined) return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
  const start = Date.UTC(y, m, Number(day));
  if (Number.isNaN(start)) throw invalid('_at', '_at must be a FHIR dateTime');
  return { start, end: start + 86_400_000 };
}

/** The request URL with the page cursor set (the next link) or as asked (the self link). */
function pageUrl(c: Context, cursor?: number): string {
  const url = new URL(c.req.url);
  if (cursor !== undefined) url.searchParams.set('_cursor', String(cursor));
  return url.toString();
}

function sendHistory(c: Context, bundle: Record<string, unknown>): Response {
  return c.body(JSON.stringify({ resourceType: 'Bundle', type: 'history', ...bundle }), 200, {
    'Content-Type': FHIR_JSON,
  });
}

/**
 * Type history, or system history for an undefined type (every type but AuditEvent, decision 0051):
 * a page of versions by falling log index, with `_since`, `_at` and `_count`.
 */
async function listHistory(
  c: Context,
  deps: {
    readonly repository: Pick<FhirRepository, 'typeHistory'>;
    readonly authenticate: FhirHistoryRouteDeps['authenticate'];
  },
  type: string | undefined,
): Promise<Response> {
  const context = await deps.authenticate(c);
  verifyHistoryParameters(c);
  const since = sinceOf(c);
  const at = atOf(c);
  const count = countOf(c);
  const cursor = cursorOf(c);
  const versions =
    count === 0
      ? []
      : await deps.repository.typeHistory(type, context, {
          ...(since === undefined ? {} : { since }),
          ...(at === undefined ? {} : { at }),
          ...(cursor === undefined ? {} : { beforeLogIndex: cursor }),
          count: count + 1,
        });
  const page = versions.slice(0, count);
  const last = page.at(-1);
  const origin = new URL(c.req.url).origin;
  return sendHistory(c, {
    link: [
      { relation: 'self', url: pageUrl(c) },
      ...(versions.length > count && last !== undefined
        ? [{ relation: 'next', url: pageUrl(c, last.logIndex) }]
        : []),
    ],
    entry: page.map((v) => historyEntry(`${origin}/fhir/${v.resourceType}/${v.id}`, v.resourceType, v.id, v)),
  });
}

/** `GET [base]/_history` (R4 http.html §3.1.0.10): mount before `GET /:type` takes `_history` as a type. */
export function createSystemHistoryHandler(deps: {
  readonly repository: Pick<FhirRepository, 'typeHistory'>;
  readonly authenticate: FhirHistoryRouteDeps['authenticate'];
}): (c: Context) => Promise<Response> {
  return (c) => listHistory(c, deps, undefined);
}

/**
 * Type and instance history (R4 http.html §3.1.0.10) with `_count`, `_since`, `_at` and
 * paging: the next link carries an opaque `_cursor` (the log index, for a type; the version id, for
 * an instance) below which the next page starts, so a version written meanwhile neither shifts nor
 * repeats a page.
 */
export function createFhirHistoryRoutes(deps: FhirHistoryRouteDeps): Hono {
  const app = new Hono();

  app.get('/:type/_history', async (c) => listHistory(c, deps, deps.resourceType(c)));

  app.get('/:type/:id/_history', async (c) => {
    const type = deps.resourceType(c);
    const id = deps.resourceId(c);
    verifyHistoryParameters(c);
    const since = sinceOf(c);
    const at = atOf(c);
    const count = countOf(c);
    const cursor = cursorOf(c);
    const all = await deps.repository.history(type, id, await deps.authenticate(c));
    // Newest first: the version listed before each one is the one that replaced it.
    const matching = all.filter((v, i) => {
      if (since !== undefined && v.lastUpdated < since) return false;
      if (at === undefined) return true;
      const replaced = all[i - 1]?.lastUpdated;
      return (
        Date.parse(v.lastUpdated) < at.end && (replaced === undefined || Date.parse(replaced) > at.start)
      );
    });
    const rest = cursor === undefined ? matching : matching.filter((v) => v.versionId < cursor);
    const page = rest.slice(0, count);
    const last = page.at(-1);
    const base = new URL(c.req.url).origin + c.req.path.replace(/\/_history$/, '');
    return sendHistory(c, {
      total: matching.length,
      link: [
        { relation: 'self', url: pageUrl(c) },
        ...(rest.length > count && last !== undefined
          ? [{ relation: 'next', url: pageUrl(c, last.versionId) }]
          : []),
      ],
      entry: page.map((v) => historyEntry(base, type, id, v)),
    });
  });

  return app;
}
