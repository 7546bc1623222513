import type { Filter, IncludeTarget, SearchRequest, SortRule } from '@medplum/core';
import { CareLedgerError } from '../../errors/index.js';
import { shippedValueSetLookup, type ValueSetLookup } from '../terminology/index.js';
import { isKnownCodeSystem } from './code-system-hierarchy.js';
import { getCompositeComponents } from './composite-components.js';
import { normalizeReference } from './extract-search-values.js';
import { isIndexedSearchParam } from './indexed-search-params.js';
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
import { checkContainedParameter } from './plan-contained.js';
import { planSpecialParameter } from './plan-special.js';
import { planValueSetToken, type ValueSetMembers } from './plan-value-set.js';
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

/**
 * A chained (`subject:Patient.name=x`, R4 §3.1.1.4.13) or reverse-chained (`_has:Observation:patient:code=x`,
 * §3.1.1.4.14) parameter, left for the gateway: it needs the resources of another type the requester
 * may see, which only the gateway can decide. `inner` is the query on `targetTypes` (chain) or on
 * `sourceType` (`_has`); it may itself chain.
 */
export type SearchJoin =
  | {
      readonly kind: 'chain';
      readonly key: string;
      readonly value: string;
      /** The reference parameter of the searched type. */
      readonly param: string;
      readonly targetTypes: readonly string[];
      readonly inner: readonly [string, string][];
    }
  | {
      readonly kind: 'has';
      readonly key: string;
      readonly value: string;
      readonly sourceType: string;
      /** The reference parameter of `sourceType` that points at the searched type. */
      readonly param: string;
      readonly inner: readonly [string, string][];
    };

/** A parameter not honoured (lenient handling): its name, and why, for the Bundle's OperationOutcome. */
export interface SearchIssue {
  readonly parameter: string;
  readonly reason: string;
}

/** R4 §3.1.1.5.8 `_summary`. */
export type SearchSummary = 'true' | 'text' | 'data' | 'count' | 'false';

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
  /** Why each ignored parameter was ignored (names only, never values). */
  readonly issues: readonly SearchIssue[];
  /** The parameters honoured, as sent, in order: what the self link may claim (R4 §3.1.1.4). */
  readonly applied: readonly (readonly [string, string])[];
  /** Chained and `_has` parameters, resolved by the gateway (withJoinResults). */
  readonly joins: readonly SearchJoin[];
  /** Resolved chains: a match has, for each, a reference through `param` to one of `references`. */
  readonly referenceIn?: readonly { readonly param: string; readonly references: ReadonlySet<string> }[];
  /** Resolved `_has`: a match's id is one of these. */
  readonly idIn?: ReadonlySet<string>;
  /** `:in` / `:not-in`: each ValueSet canonical's lowercased members (plan-value-set.ts). */
  readonly valueSets?: ReadonlyMap<string, ValueSetMembers>;
  readonly summary?: SearchSummary;
  /** R4 §3.1.1.5.9 `_elements`: the top-level elements to return (plus id, meta and mandatory ones). */
  readonly elements?: readonly string[];
  /** Epoch ms the `ap` prefix measures its 10% gap from (R4 §3.1.1.4.2). */
  readonly now: number;
}

export interface PlanSearchOptions {
  readonly handling: SearchHandling;
  /** `_contained=true|both` is honoured by the caller (the plan is for the contained resources). */
  readonly contained?: boolean;
  /** Expands `:in` / `:not-in` ValueSets; defaults to the shipped R4 definitions only. */
  readonly valueSets?: ValueSetLookup;
  /** Clock for `ap`; defaults to the system clock. */
  readonly now?: number;
}

export const DEFAULT_SEARCH_COUNT = 20;
export const MAX_SEARCH_COUNT = 1000;

/** Parameters of the HTTP layer (§3.1.1.6, §2.21.0.x) that do not change which resources match. */
const TRANSPORT_PARAMS = new Set(['_format', '_pretty']);

const SUPPORTED_MODIFIERS: Readonly<Record<string, readonly string[]>> = {
  token: ['not', 'text', 'of-type', 'in', 'not-in', 'above', 'below'],
  string: ['exact', 'contains'],
  reference: ['identifier'],
  uri: ['above', 'below'],
  composite: [],
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

/** What the gateway found for each join of a plan: the references (chain) or ids (`_has`) it allows. */
export type JoinResult =
  | { readonly join: SearchJoin; readonly matches: ReadonlySet<string> }
  | { readonly join: SearchJoin; readonly ignored: readonly SearchIssue[] };

/**
 * Above this many references a resolved join narrows in memory only: the SQL stage binds one
 * parameter per hash, and SQLite allows 32,766 in all.
 */
export const MAX_JOIN_HASHES = 5_000;

/**
 * The plan with its joins resolved: a chain becomes an ANDed index filter on the reference parameter
 * (the keyed hashes of the allowed references) and a memory check; a `_has` narrows the ids. A join
 * whose inner query was not honoured (lenient) is ignored as a whole and reported, never half applied.
 */
export function withJoinResults(
  plan: SearchPlan,
  results: readonly JoinResult[],
  keyedHash: KeyedHash,
): SearchPlan {
  const indexFilters = [...plan.indexFilters];
  const referenceIn = [...(plan.referenceIn ?? [])];
  let id = plan.id;
  let idIn = plan.idIn;
  const ignored = [...plan.ignored];
  const issues = [...plan.issues];
  const dropped = new Set<SearchJoin>();
  for (const result of results) {
    const { join } = result;
    if (!('matches' in result)) {
      ignored.push(join.key);
      issues.push(...result.ignored.map((issue) => ({ parameter: join.key, reason: issue.reason })));
      dropped.add(join);
      continue;
    }
    if (join.kind === 'chain') {
      referenceIn.push({ param: join.param, references: result.matches });
      if (result.matches.size <= MAX_JOIN_HASHES && isIndexedSearchParam(plan.resourceType, join.param)) {
        indexFilters.push({
          param: join.param,
          hashes: [...result.matches].map((reference) =>
            hashIndexValue(keyedHash, plan.resourceType, join.param, 'reference', reference),
          ),
        });
      }
    } else {
      const ids = [...result.matches];
      idIn = idIn === undefined ? result.matches : new Set(ids.filter((value) => idIn?.has(value)));
      if (ids.length <= MAX_JOIN_HASHES)
        id = id === undefined ? ids : id.filter((value) => result.matches.has(value));
    }
  }
  const applied = plan.applied.filter(
    ([key, value]) => ![...dropped].some((join) => join.key === key && join.value === value),
  );
  return {
    ...plan,
    indexFilters,
    referenceIn,
    ...(id === undefined ? {} : { id }),
    ...(idIn === undefined ? {} : { idIn }),
    ignored,
    issues,
    applied,
  };
}

interface PlanState {
  readonly resourceType: string;
  readonly keyedHash: KeyedHash;
  readonly handling: SearchHandling;
  readonly contained: boolean;
  readonly valueSetLookup: ValueSetLookup;
  readonly valueSetCodings: Map<string, ValueSetMembers>;
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
  readonly issues: SearchIssue[];
  readonly applied: [string, string][];
  readonly joins: SearchJoin[];
  summary: SearchSummary | undefined;
  elements: string[] | undefined;
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
  state.issues.push({ parameter: key, reason });
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
  const param = getSearchParam(state.resourceType, code);
  if (param === undefined) {
    unsupported(state, key, `unknown search parameter for ${state.resourceType}`);
    return;
  }
  if (param.type === 'special') {
    const special = planSpecialParameter(state.resourceType, param, modifier, value);
    if ('invalid' in special) throw invalidValue(key, special.invalid);
    if ('unsupported' in special) unsupported(state, key, special.unsupported);
    else state.filters.push(special.filter);
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
      if (modifier === 'identifier') {
        // Logical references (Reference.identifier) have no index rows: decided in memory.
        state.filters.push({ code, operator: 'identifier', value });
        return;
      }
      planReference(state, key, param, referenceType, value);
      return;
    case 'composite':
      planComposite(state, key, param, value);
      return;
    case 'uri':
      state.filters.push({
        code,
        operator: modifier === '' ? 'eq' : (modifier as Filter['operator']),
        value,
      });
      if (modifier !== '') return;
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
  // A parameter without index rows for this type (AuditEvent's unindexed ones) is decided in memory.
  if (!isIndexedSearchParam(state.resourceType, param.code)) return;
  const hashes = [
    ...new Set(
      values.map((value) => hashIndexValue(state.keyedHash, state.resourceType, param.code, kind, value)),
    ),
  ];
  state.indexFilters.push({ param: param.code, hashes });
}

function planToken(state: PlanState, key: string, param: SearchParam, modifier: string, value: string): void {
  const items = splitEscaped(value, ',');
  if (modifier === 'in' || modifier === 'not-in') {
    const planned = planValueSetToken(modifier, value, state.valueSetLookup);
    if ('unsupported' in planned) {
      unsupported(state, key, planned.unsupported);
      return;
    }
    for (const [canonical, codings] of planned.codings) state.valueSetCodings.set(canonical, codings);
    state.filters.push({ code: param.code, operator: modifier as Filter['operator'], value });
    if (planned.indexValues !== undefined) addIndexFilter(state, param, 'token', [...planned.indexValues]);
    return;
  }
  if (modifier === 'above' || modifier === 'below') {
    const systems = items.map((item) => splitToken(item).system);
    if (systems.some((system) => system === undefined || !isKnownCodeSystem(system))) {
      unsupported(state, key, 'subsumption needs system|code of a code system whose hierarchy is known here');
      return;
    }
  }
  if (modifier === 'of-type') {
    const parts = items.map((item) => splitEscaped(item, '|'));
    if (parts.some((part) => part.length !== 3 || part[1] === '' || part[2] === ''))
      throw invalidValue(key, 'expected type-system|type-code|value');
    state.filters.push({ code: param.code, operator: 'of-type', value });
    // The identifier's value is indexed as a code without system.
    addIndexFilter(
      state,
      param,
      'token',
      parts.map((part) => unescapeSearchValue(part[2] as string).toLowerCase()),
    );
    return;
  }
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
  addIndexFilter(state, param, 'token', tokens.map(tokenIndexValue));
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

/**
 * R4 §3.1.1.4.11: `code$value` per comma alternative, each part matched as its component's type. When
 * the first component is a token whose own parameter is indexed, its codes narrow in SQL.
 */
function planComposite(state: PlanState, key: string, param: SearchParam, value: string): void {
  const components = getCompositeComponents(state.resourceType, param.code);
  if (components === undefined) {
    unsupported(state, key, 'the composite parameter has no usable component definitions');
    return;
  }
  const alternatives = splitEscaped(value, ',').map((item) => splitEscaped(item, '$'));
  if (alternatives.some((parts) => parts.length !== components.length))
    throw invalidValue(key, `expected ${components.length} values joined by $`);
  for (const parts of alternatives) {
    components.forEach((component, i) => {
      const part = parts[i] as string;
      if (component.type === 'date' || component.type === 'number' || component.type === 'quantity') {
        const split = splitPrefix(part);
        const valid =
          split !== undefined &&
          (component.type === 'date'
            ? parseDateRange(split.value) !== undefined
            : parseSearchNumber(split.value, component.type === 'quantity') !== undefined);
        if (!valid) throw invalidValue(key, `component ${i + 1} is not a valid ${component.type}`);
      }
    });
  }
  state.filters.push({ code: param.code, operator: 'eq', value });
  const first = components[0];
  const firstParam = first?.code === undefined ? undefined : getSearchParam(state.resourceType, first.code);
  if (first?.type === 'token' && firstParam !== undefined) {
    addIndexFilter(
      state,
      firstParam,
      'token',
      alternatives.map((parts) => tokenIndexValue(splitToken(parts[0] as string))),
    );
  }
}

function tokenIndexValue({ system, code }: { system: string | undefined; code: string }): string {
  const lowerCode = code.toLowerCase();
  if (system === undefined || system === '') return system === '' && code === '' ? '|' : lowerCode;
  return `${system.toLowerCase()}|${lowerCode}`;
}

/** Chains deeper than this are refused: each level is a search of its own. */
const MAX_JOIN_DEPTH = 4;

function joinDepth(key: string): number {
  return (key.match(/\./g)?.length ?? 0) + (key.match(/_has:/g)?.length ?? 0);
}

/** R4 §3.1.1.4.13 chained parameters: `subject.name=x`, `subject:Patient.name=x`, `subject.organization.name=x`. */
function planChain(state: PlanState, key: string, value: string): void {
  const dot = key.indexOf('.');
  const head = key.slice(0, dot);
  const innerKey = key.slice(dot + 1);
  const [code = '', typeModifier, ...rest] = head.split(':');
  if (joinDepth(key) > MAX_JOIN_DEPTH) {
    unsupported(state, key, `chains deeper than ${MAX_JOIN_DEPTH} levels are not supported`);
    return;
  }
  const param = getSearchParam(state.resourceType, code);
  if (param === undefined || param.type !== 'reference' || rest.length > 0 || innerKey === '') {
    unsupported(state, key, 'a chain must start with a reference parameter of the searched type');
    return;
  }
  const candidates = typeModifier === undefined ? param.target : [typeModifier];
  const innerCode = innerKey.split(/[.:]/)[0] as string;
  const targetTypes = candidates.filter(
    (type) =>
      param.target.includes(type) &&
      isSearchableResourceType(type) &&
      (innerCode === '_has' || getSearchParam(type, innerCode) !== undefined),
  );
  if (targetTypes.length === 0) {
    unsupported(state, key, 'no target type of the reference has the chained parameter');
    return;
  }
  state.joins.push({ kind: 'chain', key, value, param: param.code, targetTypes, inner: [[innerKey, value]] });
}

/** R4 §3.1.1.4.14 reverse chaining: `_has:Observation:patient:code=1234-5` on Patient. */
function planHas(state: PlanState, key: string, value: string): void {
  const [, sourceType = '', paramCode = '', ...rest] = key.split(':');
  const innerKey = rest.join(':');
  if (joinDepth(key) > MAX_JOIN_DEPTH) {
    unsupported(state, key, `chains deeper than ${MAX_JOIN_DEPTH} levels are not supported`);
    return;
  }
  if (!isSearchableResourceType(sourceType) || innerKey === '') {
    unsupported(state, key, 'expected _has:Type:reference-parameter:parameter');
    return;
  }
  const param = getSearchParam(sourceType, paramCode);
  if (
    param?.type !== 'reference' ||
    (param.target.length > 0 && !param.target.includes(state.resourceType))
  ) {
    unsupported(
      state,
      key,
      `not a reference parameter of ${sourceType} that points to ${state.resourceType}`,
    );
    return;
  }
  state.joins.push({ kind: 'has', key, value, sourceType, param: param.code, inner: [[innerKey, value]] });
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
  if (value === '*' || (parts.length === 2 && paramCode === '*')) {
    planIncludeWildcard(
      state,
      key,
      code,
      modifier,
      value === '*' ? state.resourceType : (sourceType as string),
    );
    return;
  }
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

/**
 * R4 §3.1.1.5.4: `*` (or `Type:*`) includes through every reference parameter of the type; for
 * `_revinclude`, every reference parameter of that type that may point at the searched type.
 */
function planIncludeWildcard(
  state: PlanState,
  key: string,
  code: string,
  modifier: string,
  sourceType: string,
): void {
  const params = isSearchableResourceType(sourceType) ? loadSearchParameters().get(sourceType) : undefined;
  const iterate = modifier === 'iterate';
  if (params === undefined || (code === '_include' && sourceType !== state.resourceType && !iterate)) {
    unsupported(state, key, 'not a type whose references can be included here');
    return;
  }
  for (const param of params.values()) {
    if (param.type !== 'reference') continue;
    if (
      code === '_revinclude' &&
      !iterate &&
      param.target.length > 0 &&
      !param.target.includes(state.resourceType)
    )
      continue;
    const target: IncludeTarget = {
      resourceType: sourceType,
      searchParam: param.code,
      ...(iterate ? { modifier: 'iterate' as const } : {}),
    };
    (code === '_include' ? state.include : state.revinclude).push(target);
  }
}
