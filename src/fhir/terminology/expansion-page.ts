/**
 * The answer of ValueSet/$expand (R4 valueset-operation-expand.html): the ValueSet with an
 * `expansion` listing its codes, filtered and paged as asked. The codes come from expandValueSet; the
 * displays from the concepts that define them (compose concepts, a present expansion, the CodeSystem).
 */
import { stripVersion, type TerminologySource } from './expand-value-set.js';

type JsonObject = Readonly<Record<string, unknown>>;

/** Codes one $expand returns at most, whatever `count` asks (R4 leaves the bound to the server). */
export const MAX_EXPANSION_COUNT = 1_000;

export interface ExpansionRequest {
  /** Text the code or display must contain, case-insensitively (R4 `filter`). */
  readonly filter?: string;
  readonly offset: number;
  readonly count: number;
}

export interface ExpansionStamp {
  /** `urn:uuid:` identifier of this expansion. */
  readonly identifier: string;
  /** When it was made (ISO 8601). */
  readonly timestamp: string;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * Displays by `system|code`, from the ValueSet, the ValueSets it includes and the CodeSystems it takes
 * in full: the first display found wins (a ValueSet's own display overrides the CodeSystem's, R4
 * ValueSet.compose.include.concept.display).
 */
export function collectDisplays(valueSet: JsonObject, source: TerminologySource): Map<string, string> {
  const displays = new Map<string, string>();
  const seen = new Set<string>();
  const add = (system: unknown, code: unknown, display: unknown) => {
    if (typeof system !== 'string' || typeof code !== 'string' || typeof display !== 'string') return;
    const key = `${system}|${code}`;
    if (!displays.has(key)) displays.set(key, display);
  };
  const fromContains = (entries: unknown) => {
    for (const entry of asArray(entries)) {
      if (!isObject(entry)) continue;
      add(entry.system, entry.code, entry.display);
      fromContains(entry.contains);
    }
  };
  const fromCodeSystem = (system: string, concepts: unknown) => {
    for (const concept of asArray(concepts)) {
      if (!isObject(concept)) continue;
      add(system, concept.code, concept.display);
      fromCodeSystem(system, concept.concept);
    }
  };
  const visit = (current: JsonObject) => {
    if (isObject(current.expansion)) fromContains(current.expansion.contains);
    const compose = isObject(current.compose) ? current.compose : {};
    for (const include of asArray(compose.include)) {
      if (!isObject(include)) continue;
      for (const concept of asArray(include.concept))
        if (isObject(concept)) add(include.system, concept.code, concept.display);
      if (typeof include.system === 'string' && include.concept === undefined && !seen.has(include.system)) {
        seen.add(include.system);
        fromCodeSystem(include.system, source.codeSystem(include.system)?.concept);
      }
      for (const imported of asArray(include.valueSet)) {
        if (typeof imported !== 'string' || seen.has(stripVersion(imported))) continue;
        seen.add(stripVersion(imported));
        const next = source.valueSet(stripVersion(imported));
        if (next !== undefined) visit(next);
      }
    }
  };
  visit(valueSet);
  return displays;
}

/**
 * The ValueSet returned by $expand: its identifying elements (not its compose) and an expansion of
 * the codes matching `filter`, ordered by system then code, `count` of them from `offset`, with the
 * total of the matching codes and the parameters used (R4 ValueSet.expansion).
 */
export function expansionResource(
  valueSet: JsonObject,
  codings: ReadonlySet<string>,
  displays: ReadonlyMap<string, string>,
  request: ExpansionRequest,
  stamp: ExpansionStamp,
): Record<string, unknown> {
  const needle = request.filter?.toLowerCase();
  const matching = [...codings]
    .map((coding) => {
      const bar = coding.lastIndexOf('|');
      const system = coding.slice(0, bar);
      const code = coding.slice(bar + 1);
      const display = displays.get(coding);
      return { system, code, ...(display === undefined ? {} : { display }) };
    })
    .filter(
      (entry) =>
        needle === undefined ||
        entry.code.toLowerCase().includes(needle) ||
        (entry.display?.toLowerCase().includes(needle) ?? false),
    )
    .sort((a, b) => (a.system === b.system ? compare(a.code, b.code) : compare(a.system, b.system)));
  const count = Math.min(request.count, MAX_EXPANSION_COUNT);
  const parameter = [
    ...(request.filter === undefined ? [] : [{ name: 'filter', valueString: request.filter }]),
    { name: 'offset', valueInteger: request.offset },
    { name: 'count', valueInteger: count },
  ];
  const contains = matching.slice(request.offset, request.offset + count);
  const header: Record<string, unknown> = { resourceType: 'ValueSet' };
  for (const key of ['id', 'url', 'identifier', 'version', 'name', 'title', 'status', 'experimental'])
    if (valueSet[key] !== undefined) header[key] = valueSet[key];
  if (header.status === undefined) header.status = 'active';
  return {
    ...header,
    expansion: {
      identifier: stamp.identifier,
      timestamp: stamp.timestamp,
      total: matching.length,
      offset: request.offset,
      parameter,
      ...(contains.length === 0 ? {} : { contains }),
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
