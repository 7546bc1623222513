import type { ValueSetLookup } from '../terminology/index.js';
import { splitEscaped, unescapeSearchValue } from './search-value-syntax.js';

/** Above this many codes an `:in` narrows in memory only (one SQL parameter per hash; see MAX_JOIN_HASHES). */
const MAX_IN_INDEX_CODES = 5_000;

/**
 * A ValueSet's members, lowercased: listed `system|code` pairs, and whole code systems (SNOMED CT,
 * LOINC, … included in full) less their excluded pairs. Decided by isValueSetMember.
 */
export interface ValueSetMembers {
  readonly codings: ReadonlySet<string>;
  readonly systems: ReadonlySet<string>;
  readonly excluded: ReadonlySet<string>;
}

/** Whether a lowercased token belongs to the members. */
export function isValueSetMember(members: ValueSetMembers, system: string, code: string): boolean {
  const coding = `${system}|${code}`;
  if (members.codings.has(coding)) return true;
  return members.systems.has(system) && !members.excluded.has(coding);
}

const lower = (values: Iterable<string> | undefined): ReadonlySet<string> =>
  new Set([...(values ?? [])].map((value) => value.toLowerCase()));

/** The lowercased members of an expansion. */
export function valueSetMembersOf(expansion: {
  readonly codings: ReadonlySet<string>;
  readonly systems?: ReadonlySet<string>;
  readonly excluded?: ReadonlySet<string>;
}): ValueSetMembers {
  return {
    codings: lower(expansion.codings),
    systems: lower(expansion.systems),
    excluded: lower(expansion.excluded),
  };
}

export type PlannedValueSetToken =
  | {
      /** Per canonical as sent (unescaped): its members, for matchesSearch. */
      readonly codings: ReadonlyMap<string, ValueSetMembers>;
      /**
       * For `:in`, the lowercased index values a match must have one of (`system|code`, and `system|`
       * for a whole system); else undefined.
       */
      readonly indexValues?: readonly string[];
    }
  | { readonly unsupported: string };

/**
 * R4 §3.1.1.5.10 `:in` / `:not-in`: each comma alternative is a ValueSet canonical, expanded by
 * `lookup` (the node's ValueSets, then the shipped R4 ones). One that cannot be expanded here (a filter
 * such as SNOMED `is-a`, an implicit `?fhir_vs` ValueSet, an unknown canonical) makes the whole
 * parameter unsupported, so the caller refuses it (strict) or reports it (lenient): never dropped
 * silently. Codes compare lowercased, like every token here.
 */
export function planValueSetToken(
  modifier: 'in' | 'not-in',
  value: string,
  lookup: ValueSetLookup,
): PlannedValueSetToken {
  const codings = new Map<string, ValueSetMembers>();
  for (const item of splitEscaped(value, ',')) {
    const canonical = unescapeSearchValue(item);
    const expansion = lookup(canonical);
    if ('unexpandable' in expansion) return { unsupported: expansion.unexpandable };
    codings.set(canonical, valueSetMembersOf(expansion));
  }
  if (modifier === 'not-in') return { codings };
  // A whole system narrows by its `system|` rows (every token with a system has one).
  const all = new Set(
    [...codings.values()].flatMap((members) => [
      ...members.codings,
      ...[...members.systems].map((system) => `${system}|`),
    ]),
  );
  // An empty expansion matches nothing; the memory stage decides it without an index filter.
  return all.size === 0 || all.size > MAX_IN_INDEX_CODES ? { codings } : { codings, indexValues: [...all] };
}
