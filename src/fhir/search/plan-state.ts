import type { Filter, IncludeTarget, SortRule } from '@medplum/core';
import { CareLedgerError } from '../../errors/index.js';
import type { ValueSetLookup } from '../terminology/index.js';
import { isIndexedSearchParam } from './indexed-search-params.js';
import type { SearchParam } from './load-search-parameters.js';
import type { ValueSetMembers } from './plan-value-set.js';
import { hashIndexValue, type KeyedHash, type SearchIndexKind } from './search-index-entry.js';
import type { IndexFilter, SearchHandling, SearchIssue, SearchJoin, SearchSummary } from './search-plan.js';
import type { SearchPrefix } from './search-value-syntax.js';

/** What planning a query has gathered so far; each parameter's planner adds to it. */
export interface PlanState {
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

/** Parameter names come from the client: quote and bound them; never echo values. */
export function nameOf(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

export function invalidValue(key: string, reason: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', `Search parameter ${nameOf(key)}: ${reason}`, {
    details: { parameter: key, reason },
  });
}

/** Something this server does not support: an error when strict, ignored and reported when lenient. */
export function unsupported(state: PlanState, key: string, reason: string): void {
  if (state.handling === 'strict') throw invalidValue(key, reason);
  state.ignored.push(key);
  state.issues.push({ parameter: key, reason });
}

/** Adds an ANDed SQL-stage filter: rows of `param` whose keyed hash is that of one of `values`. */
export function addIndexFilter(
  state: PlanState,
  param: SearchParam,
  kind: SearchIndexKind,
  values: string[],
): void {
  // A parameter without index rows for this type (AuditEvent's unindexed ones) is decided in memory.
  if (!isIndexedSearchParam(state.resourceType, param.code)) return;
  const hashes = [
    ...new Set(
      values.map((value) => hashIndexValue(state.keyedHash, state.resourceType, param.code, kind, value)),
    ),
  ];
  state.indexFilters.push({ param: param.code, hashes });
}
