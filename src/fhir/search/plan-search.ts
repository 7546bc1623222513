import type { SearchRequest } from '@medplum/core';
import { CareLedgerError } from '../../errors/index.js';
import { shippedValueSetLookup } from '../terminology/index.js';
import { isSearchableResourceType, loadSearchParameters } from './load-search-parameters.js';
import { checkContainedParameter } from './plan-contained.js';
import { planChain, planHas } from './plan-joins.js';
import { parseNonNegativeInteger, planInclude, planSort } from './plan-result-parameters.js';
import { invalidValue, type PlanState, unsupported } from './plan-state.js';
import { planTypedParameter } from './plan-typed-parameter.js';
import type { KeyedHash } from './search-index-entry.js';
import {
  DEFAULT_SEARCH_COUNT,
  MAX_SEARCH_COUNT,
  type PlanSearchOptions,
  type SearchPlan,
  type SearchSummary,
} from './search-plan.js';

export type { JoinResult } from './plan-joins.js';
export { MAX_JOIN_HASHES, withJoinResults } from './plan-joins.js';
export {
  DEFAULT_SEARCH_COUNT,
  type IndexFilter,
  MAX_SEARCH_COUNT,
  type PlanSearchOptions,
  type SearchHandling,
  type SearchIssue,
  type SearchJoin,
  type SearchPlan,
  type SearchSummary,
} from './search-plan.js';

/** Parameters of the HTTP layer (§3.1.1.6, §2.21.0.x) that do not change which resources match. */
const TRANSPORT_PARAMS = new Set(['_format', '_pretty']);

/**
 * Turns a FHIR search query into a two-stage plan for encrypted storage: `indexFilters` narrow the
 * candidates in SQL by keyed hashes (never dropping a true match), `residual` decides each candidate
 * in memory after decryption (matchesSearch). Throws CareLedgerError('ERR_INVALID_INPUT') naming the
 * parameter (never the value, which may be PHI) for a malformed value in any mode, and for unknown
 * parameters, unsupported modifiers and chained search in strict mode; lenient mode ignores those and
 * lists them in `ignored`. Values are never interpreted as SQL: they only ever become hashes.
 */
export function planSearch(
  resourceType: string,
  query: URLSearchParams | Readonly<Record<string, string | readonly string[]>>,
  keyedHash: KeyedHash,
  options: PlanSearchOptions,
): SearchPlan {
  if (!isSearchableResourceType(resourceType)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'The resource type cannot be searched', {
      details: { parameter: 'resourceType' },
    });
  }
  loadSearchParameters();
  const state: PlanState = {
    resourceType,
    keyedHash,
    handling: options.handling,
    contained: options.contained === true,
    valueSetLookup: options.valueSets ?? shippedValueSetLookup,
    valueSetCodings: new Map(),
    indexFilters: [],
    filters: [],
    count: DEFAULT_SEARCH_COUNT,
    offset: 0,
    sort: [],
    total: 'none',
    include: [],
    revinclude: [],
    id: undefined,
    lastUpdated: [],
    ignored: [],
    issues: [],
    applied: [],
    joins: [],
    summary: undefined,
    elements: undefined,
  };
  for (const [key, value] of queryPairs(query)) {
    const before = state.ignored.length;
    planParameter(state, key, value);
    if (state.ignored.length === before) state.applied.push([key, value]);
  }
  return {
    resourceType,
    indexFilters: state.indexFilters,
    residual: {
      resourceType: resourceType as SearchRequest['resourceType'],
      filters: state.filters,
      sortRules: state.sort,
      count: state.count,
      offset: state.offset,
      total: state.total,
      include: state.include,
      revInclude: state.revinclude,
    },
    count: state.count,
    offset: state.offset,
    sort: state.sort,
    total: state.total,
    include: state.include,
    revinclude: state.revinclude,
    ...(state.id === undefined ? {} : { id: state.id }),
    ...(state.lastUpdated.length === 0 ? {} : { lastUpdated: state.lastUpdated }),
    ignored: state.ignored,
    issues: state.issues,
    applied: state.applied,
    joins: state.joins,
    ...(state.summary === undefined ? {} : { summary: state.summary }),
    ...(state.elements === undefined ? {} : { elements: state.elements }),
    ...(state.valueSetCodings.size === 0 ? {} : { valueSets: state.valueSetCodings }),
    now: options.now ?? Date.now(),
  };
}

function queryPairs(
  query: URLSearchParams | Readonly<Record<string, string | readonly string[]>>,
): [string, string][] {
  if (query instanceof URLSearchParams) return [...query.entries()];
  return Object.entries(query).flatMap(([key, value]): [string, string][] =>
    typeof value === 'string' ? [[key, value]] : value.map((item): [string, string] => [key, item]),
  );
}

function planParameter(state: PlanState, key: string, value: string): void {
  const colon = key.indexOf(':');
  const code = colon < 0 ? key : key.slice(0, colon);
  const modifier = colon < 0 ? '' : key.slice(colon + 1);
  if (TRANSPORT_PARAMS.has(code)) return;
  switch (code) {
    case '_count':
      state.count = Math.min(parseNonNegativeInteger(key, modifier, value), MAX_SEARCH_COUNT);
      return;
    case '_offset':
      state.offset = parseNonNegativeInteger(key, modifier, value);
      return;
    case '_total':
      if (modifier !== '' || !['none', 'estimate', 'accurate'].includes(value))
        throw invalidValue(key, 'expected none, estimate or accurate');
      state.total = value === 'none' ? 'none' : 'accurate';
      return;
    case '_summary':
      if (modifier !== '' || !['true', 'text', 'data', 'count', 'false'].includes(value))
        throw invalidValue(key, 'expected true, text, data, count or false');
      state.summary = value as SearchSummary;
      if (value === 'count') {
        state.count = 0;
        state.total = 'accurate';
      }
      return;
    case '_elements': {
      if (modifier !== '') throw invalidValue(key, 'no modifier is allowed');
      const names = value.split(',').map((name) => name.trim());
      if (names.some((name) => !/^[a-z][A-Za-z0-9]*$/.test(name)))
        throw invalidValue(key, 'expected element names separated by commas');
      state.elements = [...(state.elements ?? []), ...names];
      return;
    }
    case '_contained':
    case '_containedType': {
      const malformed = checkContainedParameter(code, modifier, value);
      if (malformed !== undefined) throw invalidValue(key, malformed);
      // Run by searchContained (src/vault/operations), which plans with `contained: true`.
      if (code === '_contained' && value !== 'false' && !state.contained)
        unsupported(state, key, 'contained resources are searched by the vault, not this plan');
      return;
    }
    case '_sort':
      if (modifier !== '') throw invalidValue(key, 'no modifier is allowed');
      planSort(state, key, value);
      return;
    case '_include':
    case '_revinclude':
      planInclude(state, key, code, modifier, value);
      return;
    case '_has':
      planHas(state, key, value);
      return;
    default:
      break;
  }
  if (key.includes('.')) {
    planChain(state, key, value);
    return;
  }
  planTypedParameter(state, key, code, modifier, value);
}
