import type { Filter, IncludeTarget, SearchRequest, SortRule } from '@medplum/core';
import { CareLedgerError } from '../../errors/index.js';
import { normalizeReference } from './extract-search-values.js';
import {
  getSearchParam,
  isSearchableResourceType,
  loadSearchParameters,
  type SearchParam,
} from './load-search-parameters.js';
import {
  MAX_PREFIX_LENGTH,
  normalizeSearchString,
  prefixOf,
  searchWords,
} from './normalize-search-string.js';
import { parseDateRange } from './parse-date-range.js';
import { hashIndexValue, type KeyedHash, type SearchIndexKind } from './search-index-entry.js';
import {
  parseSearchNumber,
  type SearchPrefix,
  splitEscaped,
  splitPrefix,
  splitToken,
  unescapeSearchValue,
} from './search-value-syntax.js';

/** FHIR R4 §3.1.1.2 `Prefer: handling=strict|lenient` for parameters the server does not support. */
export type SearchHandling = 'strict' | 'lenient';

/** Rows of one parameter whose hash is any of `hashes` (OR); a plan's filters are ANDed. */
export interface IndexFilter {
  readonly param: string;
  readonly hashes: readonly string[];
}

export interface SearchPlan {
  readonly resourceType: string;
  /** SQL stage: a candidate has, for every filter, a row `(param, hash)` with hash in `hashes`. */
  readonly indexFilters: readonly IndexFilter[];
  /** Memory stage: every filter of the query (indexed ones too), for matchesSearch. */
  readonly residual: SearchRequest;
  readonly count: number;
  readonly offset: number;
  readonly sort: readonly SortRule[];
  readonly total: 'none' | 'accurate';
  readonly include: readonly IncludeTarget[];
  readonly revinclude: readonly IncludeTarget[];
  /** `_id` values a candidate's id column must be one of (intersection of every `_id` parameter). */
  readonly id?: readonly string[];
  /** Single-valued `_lastUpdated` conditions (ANDed) for the plain metadata column; also in residual. */
  readonly lastUpdated?: readonly { readonly prefix: SearchPrefix; readonly value: string }[];
  /** Lenient handling only: the parameters ignored, as sent. */
  readonly ignored: readonly string[];
  /** Epoch ms the `ap` prefix measures its 10% gap from (R4 §3.1.1.4.2). */
  readonly now: number;
}

export interface PlanSearchOptions {
  readonly handling: SearchHandling;
  /** Clock for `ap`; defaults to the system clock. */
  readonly now?: number;
}

export const DEFAULT_SEARCH_COUNT = 20;
export const MAX_SEARCH_COUNT = 1000;

/** Parameters of the HTTP layer (§3.1.1.6, §2.21.0.x) that do not change which resources match. */
const TRANSPORT_PARAMS = new Set(['_format', '_pretty']);

const SUPPORTED_MODIFIERS: Readonly<Record<string, readonly string[]>> = {
  token: ['not', 'text'],
  string: ['exact', 'contains'],
  reference: [],
  uri: [],
  date: [],
  number: [],
  quantity: [],
};

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
  };
  for (const [key, value] of queryPairs(query)) planParameter(state, key, value);
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
    now: options.now ?? Date.now(),
  };
}

interface PlanState {
  readonly resourceType: string;
  readonly keyedHash: KeyedHash;
  readonly handling: SearchHandling;
  readonly indexFilters: IndexFilter[];
  readonly filters: Filter[];
  count: number;
  offset: number;
  sort: SortRule[];
  total: 'none' | 'accurate';
  readonly include: IncludeTarget[];
  readonly revinclude: IncludeTarget[];
  id: string[] | undefined;
  readonly lastUpdated: { prefix: SearchPrefix; value: string }[];
  readonly ignored: string[];
}

function queryPairs(
  query: URLSearchParams | Readonly<Record<string, string | readonly string[]>>,
): [string, string][] {
  if (query instanceof URLSearchParams) return [...query.entries()];
  return Object.entries(query).flatMap(([key, value]): [string, string][] =>
    typeof value === 'string' ? [[key, value]] : value.map((item): [string, string] => [key, item]),
  );
}

/** Parameter names come from the client: quote and bound them; never echo values. */
function nameOf(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

function invalidValue(key: string, reason: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', `Search parameter ${nameOf(key)}: ${reason}`, {
    details: { parameter: key, reason },
  });
}

/** Something this server does not support: an error when strict, ignored and reported when lenient. */
function unsupported(state: PlanState, key: string, reason: string): void {
  if (state.handling === 'strict') throw invalidValue(key, reason);
  state.ignored.push(key);
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
      if (modifier === '' && value === 'count') {
        state.count = 0;
        state.total = 'accurate';
      } else if (!(modifier === '' && value === 'false')) {
        unsupported(state, key, 'only _summary=count is supported');
      }
      return;
    case '_sort':
      if (modifier !== '') throw invalidValue(key, 'no modifier is allowed');
      planSort(state, key, value);
      return;
    case '_include':
    case '_revinclude':
      planInclude(state, key, code, modifier, value);
      return;
    case '_has':
      unsupported(state, key, 'reverse chained search (_has) is not supported');
      return;
    default:
      break;
  }
  if (code.includes('.') || modifier.includes('.')) {
    unsupported(state, key, 'chained search is not supported');
    return;
  }
  const param = getSearchParam(state.resourceType, code);
  if (param === undefined) {
    unsupported(state, key, `unknown search parameter for ${state.resourceType}`);
    return;
  }
  if (param.type === 'composite' || param.type === 'special') {
    unsupported(state, key, `${param.type} search parameters are not supported`);
    return;
  }
  if (value === '') {
    unsupported(state, key, 'empty value');
    return;
  }
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw invalidValue(key, 'expected true or false');
    state.filters.push({ code, operator: 'missing', value });
    return;
  }
  const referenceType = param.type === 'reference' ? referenceTypeModifier(param, modifier) : undefined;
  if (
    modifier !== '' &&
    referenceType === undefined &&
    !SUPPORTED_MODIFIERS[param.type]?.includes(modifier)
  ) {
    unsupported(state, key, `modifier :${modifier} is not supported on ${param.type} parameters`);
    return;
  }
  switch (param.type) {
    case 'token':
      planToken(state, key, param, modifier, value);
      return;
    case 'string':
      planString(state, param, modifier, value);
      return;
    case 'reference':
      planReference(state, key, param, referenceType, value);
      return;
    case 'uri':
      state.filters.push({ code, operator: 'eq', value });
      addIndexFilter(
        state,
        param,
        'uri',
        splitEscaped(value, ',').map((item) => unescapeSearchValue(item)),
      );
      return;
    case 'date':
      planOrdered(state, key, param, value, (item) => parseDateRange(item) !== undefined, 'a real date');
      return;
    case 'number':
    case 'quantity': {
      const withUnits = param.type === 'quantity';
      planOrdered(
        state,
        key,
        param,
        value,
        (item) => parseSearchNumber(item, withUnits) !== undefined,
        'a number',
      );
      return;
    }
  }
}

function parseNonNegativeInteger(key: string, modifier: string, value: string): number {
  if (modifier !== '' || !/^\d{1,9}$/.test(value)) throw invalidValue(key, 'expected a non-negative integer');
  return Number(value);
}

function addIndexFilter(state: PlanState, param: SearchParam, kind: SearchIndexKind, values: string[]): void {
  const hashes = [
    ...new Set(
      values.map((value) => hashIndexValue(state.keyedHash, state.resourceType, param.code, kind, value)),
    ),
  ];
  state.indexFilters.push({ param: param.code, hashes });
}

function planToken(state: PlanState, key: string, param: SearchParam, modifier: string, value: string): void {
  state.filters.push({
    code: param.code,
    operator: modifier === '' ? 'eq' : (modifier as Filter['operator']),
    value,
  });
  if (modifier !== '') return;
  const tokens = splitEscaped(value, ',').map((item) => splitToken(item));
  if (param.code === '_id') {
    if (tokens.some((token) => token.system !== undefined)) throw invalidValue(key, 'an id has no system');
    const ids = tokens.map((token) => token.code);
    state.id = state.id === undefined ? ids : state.id.filter((id) => ids.includes(id));
    return;
  }
  addIndexFilter(
    state,
    param,
    'token',
    tokens.map(({ system, code }) => {
      const lowerCode = code.toLowerCase();
      if (system === undefined || system === '') return system === '' && code === '' ? '|' : lowerCode;
      return `${system.toLowerCase()}|${lowerCode}`;
    }),
  );
}

/**
 * matchesSearch decides a string at the start of the value or of any word in it, so the first word
 * of a query is always a prefix of an indexed word. With one query value, every further word is too
 * (the words in between must be whole words of the value), so each gets its own ANDed filter.
 */
function planString(state: PlanState, param: SearchParam, modifier: string, value: string): void {
  state.filters.push({
    code: param.code,
    operator: modifier === '' ? 'eq' : (modifier as Filter['operator']),
    value,
  });
  if (modifier === 'contains') return;
  const queries = splitEscaped(value, ',').map((item) =>
    searchWords(normalizeSearchString(unescapeSearchValue(item))),
  );
  // A value that normalizes to nothing ("---") matches every non-empty string: no index filter.
  if (queries.some((words) => words.length === 0)) return;
  const prefix = (word: string): string => prefixOf(word, MAX_PREFIX_LENGTH);
  if (queries.length === 1) {
    for (const word of new Set(queries[0])) addIndexFilter(state, param, 'string-prefix', [prefix(word)]);
  } else {
    addIndexFilter(
      state,
      param,
      'string-prefix',
      queries.map((words) => prefix(words[0] as string)),
    );
  }
}

/** R4 §3.1.1.4.9: `subject:Patient=123` means `subject=Patient/123`. */
function referenceTypeModifier(param: SearchParam, modifier: string): string | undefined {
  if (!/^[A-Z][A-Za-z]+$/.test(modifier)) return undefined;
  return param.target.length === 0 || param.target.includes(modifier) ? modifier : undefined;
}

function planReference(
  state: PlanState,
  key: string,
  param: SearchParam,
  type: string | undefined,
  value: string,
): void {
  const references = splitEscaped(value, ',').map((item) => {
    const reference = unescapeSearchValue(item);
    if (type === undefined || !reference.includes('/'))
      return type === undefined ? reference : `${type}/${reference}`;
    if (normalizeReference(reference).normalized.startsWith(`${type}/`)) return reference;
    throw invalidValue(key, 'the reference does not match the type modifier');
  });
  state.filters.push({ code: param.code, operator: 'eq', value: references.map(escapeComma).join(',') });
  addIndexFilter(
    state,
    param,
    'reference',
    references.map((reference) => normalizeReference(reference).normalized),
  );
}

function escapeComma(value: string): string {
  return value.replace(/([\\,])/g, '\\$1');
}

/**
 * Dates, numbers and quantities stay out of the index (see extractSearchIndexEntries). Each comma
 * value may carry its own prefix; one shared prefix becomes the filter's operator, as in Medplum.
 */
function planOrdered(
  state: PlanState,
  key: string,
  param: SearchParam,
  value: string,
  isValid: (value: string) => boolean,
  expected: string,
): void {
  const items = splitEscaped(value, ',').map((item) => {
    const split = splitPrefix(item);
    if (split === undefined) throw invalidValue(key, 'unknown prefix');
    if (!isValid(split.value)) throw invalidValue(key, `expected ${expected}`);
    return split;
  });
  const prefixes = new Set(items.map((item) => item.prefix ?? 'eq'));
  const [only] = prefixes;
  if (prefixes.size === 1 && only !== undefined) {
    state.filters.push({
      code: param.code,
      operator: only,
      value: items.map((item) => item.value).join(','),
    });
    if (param.code === '_lastUpdated' && items.length === 1)
      state.lastUpdated.push({ prefix: only, value: (items[0] as { value: string }).value });
  } else {
    state.filters.push({ code: param.code, operator: 'eq', value });
  }
}

function planSort(state: PlanState, key: string, value: string): void {
  for (const field of value.split(',')) {
    const descending = field.startsWith('-');
    const code = descending ? field.slice(1) : field;
    const param = getSearchParam(state.resourceType, code);
    if (param === undefined || param.type === 'composite' || param.type === 'special') {
      unsupported(state, key, `cannot sort by ${nameOf(code)}`);
      continue;
    }
    state.sort.push({ code, descending });
  }
}

function planInclude(state: PlanState, key: string, code: string, modifier: string, value: string): void {
  if (modifier !== '' && modifier !== 'iterate') {
    unsupported(state, key, `modifier :${modifier} is not supported`);
    return;
  }
  const parts = value.split(':');
  const [sourceType, paramCode, targetType] = parts;
  if (parts.length < 2 || parts.length > 3 || sourceType === undefined || paramCode === undefined) {
    throw invalidValue(key, 'expected ResourceType:parameter[:TargetType]');
  }
  const param = isSearchableResourceType(sourceType) ? getSearchParam(sourceType, paramCode) : undefined;
  const pointsHere =
    code === '_include'
      ? sourceType === state.resourceType
      : param?.target.includes(state.resourceType) === true;
  const validTarget = targetType === undefined || param?.target.includes(targetType) === true;
  if (param?.type !== 'reference' || !validTarget || (modifier !== 'iterate' && !pointsHere)) {
    unsupported(state, key, 'not a reference parameter that can be included here');
    return;
  }
  const target: IncludeTarget = {
    resourceType: sourceType,
    searchParam: paramCode,
    ...(targetType === undefined ? {} : { targetType }),
    ...(modifier === 'iterate' ? { modifier: 'iterate' as const } : {}),
  };
  (code === '_include' ? state.include : state.revinclude).push(target);
}
