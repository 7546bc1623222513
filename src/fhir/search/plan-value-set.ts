import type { ValueSetLookup } from '../terminology/index.js';
import { splitEscaped, unescapeSearchValue } from './search-value-syntax.js';

/** Above this many codes an `:in` narrows in memory only (one SQL parameter per hash; see MAX_JOIN_HASHES). */
const MAX_IN_INDEX_CODES = 5_000;

export type PlannedValueSetToken =
  | {
      /** Per canonical as sent (unescaped): its lowercased `system|code` pairs, for matchesSearch. */
      readonly codings: ReadonlyMap<string, ReadonlySet<string>>;
      /** For `:in`, the lowercased `system|code` index values a match must have one of; else undefined. */
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
  const codings = new Map<string, ReadonlySet<string>>();
  for (const item of splitEscaped(value, ',')) {
    const canonical = unescapeSearchValue(item);
    const expansion = lookup(canonical);
    if ('unexpandable' in expansion) return { unsupported: expansion.unexpandable };
    codings.set(canonical, new Set([...expansion.codings].map((coding) => coding.toLowerCase())));
  }
  if (modifier === 'not-in') return { codings };
  const all = new Set([...codings.values()].flatMap((set) => [...set]));
  // An empty expansion matches nothing; the memory stage decides it without an index filter.
  return all.size === 0 || all.size > MAX_IN_INDEX_CODES ? { codings } : { codings, indexValues: [...all] };
}
