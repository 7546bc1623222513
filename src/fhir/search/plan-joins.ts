import { isIndexedSearchParam } from './indexed-search-params.js';
import { getSearchParam, isSearchableResourceType } from './load-search-parameters.js';
import { type PlanState, unsupported } from './plan-state.js';
import { hashIndexValue, type KeyedHash } from './search-index-entry.js';
import type { SearchIssue, SearchJoin, SearchPlan } from './search-plan.js';

/** Chains deeper than this are refused: each level is a search of its own. */
const MAX_JOIN_DEPTH = 4;

function joinDepth(key: string): number {
  return (key.match(/\./g)?.length ?? 0) + (key.match(/_has:/g)?.length ?? 0);
}

/** R4 §3.1.1.4.13 chained parameters: `subject.name=x`, `subject:Patient.name=x`, `subject.organization.name=x`. */
export function planChain(state: PlanState, key: string, value: string): void {
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
export function planHas(state: PlanState, key: string, value: string): void {
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
