/**
 * `_contained` and `_containedType` (R4 search.html §3.1.1.5.x): whether a search looks at contained
 * resources (`false`, the default: only resources that stand alone; `true`: only contained ones;
 * `both`), and whether a contained match is returned as its container (`container`, the default) or as
 * itself (`contained`).
 */
export type ContainedMode = 'false' | 'true' | 'both';

export interface ContainedSearch {
  readonly mode: ContainedMode;
  readonly returned: 'container' | 'contained';
}

/** Parameters that cannot be combined with `_contained=true|both` here, and why. */
const NOT_WITH_CONTAINED: readonly [RegExp, string][] = [
  [/^_(?:rev)?include(?::|$)/, '_include and _revinclude do not apply to contained resources here'],
  [/^_has(?::|$)/, '_has cannot be combined with _contained'],
  [/^_sort$/, '_sort cannot be combined with _contained'],
  [/\./, 'chained parameters cannot be combined with _contained'],
];

/** Why one `_contained` / `_containedType` value is malformed, or undefined when it is well formed. */
export function checkContainedParameter(code: string, modifier: string, value: string): string | undefined {
  if (modifier !== '') return 'no modifier is allowed';
  if (code === '_contained')
    return ['true', 'false', 'both'].includes(value) ? undefined : 'expected true, false or both';
  return ['container', 'contained'].includes(value) ? undefined : 'expected container or contained';
}

/** The query's `_contained` and `_containedType` (the last of each wins), with their defaults. */
export function parseContainedSearch(query: URLSearchParams): ContainedSearch {
  const mode = query.getAll('_contained').at(-1);
  const returned = query.getAll('_containedType').at(-1);
  return {
    mode: mode === 'true' || mode === 'both' ? mode : 'false',
    returned: returned === 'contained' ? 'contained' : 'container',
  };
}

/** True when the query asks for contained resources (`_contained=true|both`). */
export function isContainedSearch(query: URLSearchParams): boolean {
  return parseContainedSearch(query).mode !== 'false';
}

/**
 * What in a contained search this server does not do, as a parameter name and a reason: the
 * combinations in NOT_WITH_CONTAINED.
 */
export function unsupportedInContainedSearch(
  query: URLSearchParams,
): { readonly parameter: string; readonly reason: string } | undefined {
  for (const key of new Set(query.keys())) {
    const found = NOT_WITH_CONTAINED.find(([pattern]) => pattern.test(key));
    if (found !== undefined) return { parameter: key, reason: found[1] };
  }
  return undefined;
}
