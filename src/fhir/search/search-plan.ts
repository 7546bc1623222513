import type { IncludeTarget, SearchRequest, SortRule } from '@medplum/core';
import type { ValueSetLookup } from '../terminology/index.js';
import type { ValueSetMembers } from './plan-value-set.js';
import type { SearchPrefix } from './search-value-syntax.js';

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
