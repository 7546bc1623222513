import type { Context } from 'hono';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import { type CareSpan, isWithinCareDates, parseFhirDateSpan } from './fhir-care-dates.js';
import { FHIR_JSON } from './fhir-response.js';

const DEFAULT_COUNT = 1000;
const MAX_COUNT = 1000;

export interface EverythingRouteDeps {
  readonly repository: Pick<FhirRepository, 'everything'>;
  readonly authenticate: (c: Context) => Promise<AccessContext>;
  readonly resourceTypes: readonly string[];
  /** Throws the 400 for a malformed id; answers the id. */
  readonly resourceId: (c: Context) => string;
}

function invalid(parameter: string, message: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', message, { details: { parameter } });
}

function wholeNumber(c: Context, name: string, fallback: number): number {
  const text = c.req.query(name);
  if (text === undefined) return fallback;
  if (!/^[0-9]{1,7}$/.test(text)) throw invalid(name, `${name} must be a whole number`);
  return Number(text);
}

/** `start` and `end` (R4 date): each covers its whole precision (`end=2020` is up to 2020-12-31). */
function careDatesOf(c: Context): { start?: CareSpan; end?: CareSpan } {
  const range: { start?: CareSpan; end?: CareSpan } = {};
  for (const name of ['start', 'end'] as const) {
    const text = c.req.query(name);
    if (text === undefined) continue;
    const span = parseFhirDateSpan(text);
    if (span === undefined) throw invalid(name, `${name} must be a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)`);
    range[name] = span;
  }
  return range;
}

/**
 * `GET Patient/[id]/$everything` (R4 patient-operation-everything.html) with `_type`, `_since`,
 * `_count` (pages linked by an opaque `_offset`), and `start`/`end`, which select by each record's
 * care date (fhir-care-dates.ts); a record with no care date is always included.
 */
export function createEverythingHandler(deps: EverythingRouteDeps) {
  const served: ReadonlySet<string> = new Set(deps.resourceTypes);
  return async (c: Context): Promise<Response> => {
    const id = deps.resourceId(c);
    const careDates = careDatesOf(c);
    const typeList = c.req.queries('_type')?.flatMap((v) => v.split(',').map((t) => t.trim()));
    const unknown = typeList?.find((t) => !served.has(t));
    if (unknown !== undefined)
      throw invalid('_type', `this server does not serve ${JSON.stringify(unknown)}`);
    const since = c.req.query('_since');
    if (since !== undefined && Number.isNaN(Date.parse(since)))
      throw invalid('_since', '_since must be a FHIR instant');
    const count = Math.min(MAX_COUNT, wholeNumber(c, '_count', DEFAULT_COUNT));
    const offset = wholeNumber(c, '_offset', 0);
    const all = await deps.repository.everything(
      id,
      await deps.authenticate(c),
      typeList ?? deps.resourceTypes,
    );
    const sinceMs = since === undefined ? undefined : Date.parse(since);
    const matching = all.filter(
      (r) =>
        (sinceMs === undefined ||
          (r.meta?.lastUpdated !== undefined && Date.parse(r.meta.lastUpdated) >= sinceMs)) &&
        isWithinCareDates(r, careDates),
    );
    const page = matching.slice(offset, offset + count);
    const url = new URL(c.req.url);
    const origin = url.origin;
    const next = new URL(url);
    next.searchParams.set('_offset', String(offset + count));
    return c.body(
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'searchset',
        total: matching.length,
        link: [
          { relation: 'self', url: url.toString() },
          ...(offset + count < matching.length ? [{ relation: 'next', url: next.toString() }] : []),
        ],
        entry: page.map((resource) => ({
          fullUrl: `${origin}/fhir/${resource.resourceType}/${resource.id}`,
          resource,
          search: { mode: 'match' },
        })),
      }),
      200,
      { 'Content-Type': FHIR_JSON },
    );
  };
}
