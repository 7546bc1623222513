import type { Resource } from '@medplum/fhirtypes';
import { type Context, Hono } from 'hono';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import { loadSearchParameters } from '../../fhir/search/index.js';
import type { SearchIssue } from '../../fhir/search/search-plan.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import { createSystemHistoryHandler } from './fhir-history-routes.js';
import { FHIR_JSON } from './fhir-response.js';
import { formatSearchBundle, searchHandling } from './search-bundle.js';

/** The page size when `_count` is absent, and the matches a page may reach (offset + count). */
const DEFAULT_COUNT = 50;
const MAX_REACH = 999;
/** The matches a page may read across its types (types × (offset + count + 1)): the cost of one page. */
const MAX_READ = 10_000;

/** Result parameters the system search itself honours; the others go to each type's search as sent. */
const OWN = new Set(['_type', '_count', '_offset', '_sort']);
/** Result parameters each type's search applies to its own matches (R4 search.html §3.1.1.5). */
const PER_TYPE = new Set(['_total', '_summary', '_elements']);
/** Carried by the transport, not search parameters (R4 http.html §3.1.0.1.6). */
const TRANSPORT = new Set(['_format', '_pretty']);

/** The parameters of every type (R4 Resource), for the CapabilityStatement's `rest.searchParam`. */
export const SYSTEM_SEARCH_PARAMS = [
  ['_id', 'token'],
  ['_lastUpdated', 'date'],
  ['_tag', 'token'],
  ['_profile', 'uri'],
  ['_security', 'token'],
] as const;

export interface FhirSystemRouteDeps {
  readonly repository: Pick<FhirRepository, 'search' | 'typeHistory'>;
  readonly authenticate: (c: Context) => Promise<AccessContext>;
  readonly resourceTypes: readonly string[];
}

function invalid(parameter: string, message: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', message, { details: { parameter } });
}

function wholeNumber(params: URLSearchParams, name: string, fallback: number): number {
  const text = params.get(name);
  if (text === null) return fallback;
  if (!/^[0-9]{1,7}$/.test(text)) throw invalid(name, `${name} must be a whole number`);
  return Number(text);
}

interface Match {
  readonly resource: Resource;
  readonly lastUpdated: string;
}

/**
 * System search (R4 http.html §3.1.0.9, search.html §3.1.1.3): `GET [base]?_type=A,B&...` and
 * `POST [base]/_search`. Each listed type is searched as a type search is (the same access decisions
 * and AuditEvents, decision 0051) with the parameters common to all listed types, and the matches are
 * merged by `_lastUpdated` (ties by type and id). A search of every type is refused with a 400 naming
 * `_type`: 145 type searches per page is a cost no client should trigger by leaving a parameter out.
 * A parameter not common to the listed types is handled as type search handles one it cannot honour
 * (`Prefer: handling=strict` → 400, lenient → named in an OperationOutcome and left out of the self link).
 */
async function searchSystem(
  c: Context,
  deps: FhirSystemRouteDeps,
  params: URLSearchParams,
): Promise<Response> {
  const context = await deps.authenticate(c);
  const served: ReadonlySet<string> = new Set(deps.resourceTypes);
  const types = [...new Set(params.getAll('_type').flatMap((v) => v.split(',').map((t) => t.trim())))].filter(
    (t) => t !== '',
  );
  if (types.length === 0)
    throw invalid(
      '_type',
      'a search across types needs _type, the types to search (e.g. _type=Patient,Group)',
    );
  const unknown = types.find((t) => !served.has(t));
  if (unknown !== undefined) throw invalid('_type', `this server does not serve ${JSON.stringify(unknown)}`);
  const handling = searchHandling(c.req.header('prefer'));
  // `_summary=count` (R4 §3.1.1.5.8): the total only.
  const count = params.get('_summary') === 'count' ? 0 : wholeNumber(params, '_count', DEFAULT_COUNT);
  const offset = wholeNumber(params, '_offset', 0);
  if (offset + count > MAX_REACH)
    throw invalid(
      '_offset',
      `a search across types reaches its first ${MAX_REACH} matches; narrow it with _lastUpdated`,
    );
  if (types.length * (offset + count + 1) > MAX_READ)
    throw invalid(
      '_count',
      `a page across ${types.length} types reads up to ${MAX_READ} matches: list fewer types or ask a smaller _count`,
    );
  const issues: SearchIssue[] = [];
  const refuse = (parameter: string, reason: string) => {
    if (handling === 'strict')
      throw invalid(parameter, `search parameter ${JSON.stringify(parameter)}: ${reason}`);
    issues.push({ parameter, reason });
  };
  const sorts = params.getAll('_sort').flatMap((v) => v.split(','));
  let descending = false;
  let sortApplied: string | undefined;
  for (const sort of sorts) {
    if (sort === '_lastUpdated' || sort === '-_lastUpdated') {
      descending = sort.startsWith('-');
      sortApplied = sort;
    } else refuse('_sort', `a search across types sorts by _lastUpdated only, not ${JSON.stringify(sort)}`);
  }
  const passed: [string, string][] = [];
  for (const [key, value] of params) {
    const code = key.split(':')[0] ?? key;
    if (OWN.has(code) || TRANSPORT.has(code)) continue;
    const common =
      PER_TYPE.has(code) || types.every((type) => loadSearchParameters().get(type)?.has(code) === true);
    if (common) passed.push([key, value]);
    else refuse(key, `not a search parameter of every type in _type (${types.join(',')})`);
  }
  const matches: Match[] = [];
  let unverified = 0;
  let reachedEnd = true;
  let total: number | undefined = 0;
  for (const type of types) {
    const query = new URLSearchParams(passed);
    query.set('_sort', descending ? '-_lastUpdated' : '_lastUpdated');
    query.set('_count', String(offset + count + 1));
    const result = await deps.repository.search(type, query, context, { handling });
    issues.push(...result.issues);
    unverified += result.unverified;
    total = total === undefined || result.total === undefined ? undefined : total + result.total;
    if (result.resources.length > offset + count) reachedEnd = false;
    for (const resource of result.resources.slice(0, offset + count + 1))
      matches.push({ resource, lastUpdated: resource.meta?.lastUpdated ?? '' });
  }
  const order = (a: Match, b: Match): number => {
    const byTime = a.lastUpdated < b.lastUpdated ? -1 : a.lastUpdated > b.lastUpdated ? 1 : 0;
    if (byTime !== 0) return descending ? -byTime : byTime;
    const aKey = `${a.resource.resourceType}/${a.resource.id}`;
    const bKey = `${b.resource.resourceType}/${b.resource.id}`;
    return aKey < bKey ? -1 : aKey > bKey ? 1 : 0;
  };
  matches.sort(order);
  const applied: [string, string][] = [
    ['_type', types.join(',')],
    ...passed,
    ...(sortApplied === undefined ? [] : [['_sort', sortApplied] as [string, string]]),
    ['_count', String(count)],
    ...(offset === 0 ? [] : [['_offset', String(offset)] as [string, string]]),
  ];
  const url = new URL(c.req.url);
  const bundle = formatSearchBundle(
    {
      resources: matches.slice(offset, offset + count).map((m) => m.resource),
      included: [],
      ignored: issues.map((i) => i.parameter),
      issues,
      applied,
      offset,
      count,
      ...(total === undefined ? {} : { total }),
      more: count > 0 && (matches.length > offset + count || !reachedEnd),
      unverified,
    },
    url.origin,
    '/fhir',
  );
  return c.body(JSON.stringify(bundle), 200, { 'Content-Type': FHIR_JSON });
}

/**
 * Whole-system interactions (R4 http.html §3.1.0): history (`GET [base]/_history`) and search
 * (`GET [base]?_type=`, `POST [base]/_search`). Mount before the type routes, which would take
 * `_history` and `_search` for a type.
 */
export function createFhirSystemRoutes(deps: FhirSystemRouteDeps): Hono {
  const app = new Hono();
  app.get('/_history', createSystemHistoryHandler(deps));
  app.get('/', (c) => searchSystem(c, deps, new URL(c.req.url).searchParams));
  app.post('/_search', async (c) => {
    // Who is asking before what they asked: an anonymous client gets 401, not a 400 about the body.
    await deps.authenticate(c);
    if (!(c.req.header('content-type') ?? '').startsWith('application/x-www-form-urlencoded'))
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'a search by POST has an application/x-www-form-urlencoded body',
      );
    const params = new URLSearchParams(new URL(c.req.url).searchParams);
    for (const [key, value] of new URLSearchParams(await c.req.text())) params.append(key, value);
    return searchSystem(c, deps, params);
  });
  return app;
}
