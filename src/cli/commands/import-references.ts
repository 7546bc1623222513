import { type ImportFile, readImportItems, type SourceNotes } from './import-sources.js';

/** `Type?query`: a conditional reference (R4 §3.1.0.11.2, "Conditional references"). */
const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?(.+)$/;

/** `Type?query` → `Type/id`, for the conditional references that resolved to exactly one resource. */
export type ResolvedReferences = ReadonlyMap<string, string>;

/** Asks the node for `Type?query`: the id of its single match, or undefined (none, several, refused). */
export type LookupConditionalReference = (reference: string) => Promise<string | undefined>;

interface IdentifierQuery {
  readonly type: string;
  /** `system|value`, or `|value` for an identifier without a system; undefined when no system was given. */
  readonly system: string | undefined;
  readonly value: string;
}

/** `Type?identifier=[system|]value`, the form Synthea and most exports use; other queries go to the node. */
function parseIdentifierQuery(reference: string): IdentifierQuery | undefined {
  const match = CONDITIONAL_REFERENCE.exec(reference);
  if (match === null) return undefined;
  const params = [...new URLSearchParams(match[2] as string)];
  if (params.length !== 1 || params[0]?.[0] !== 'identifier') return undefined;
  const token = params[0][1];
  const bar = token.indexOf('|');
  if (bar === -1) return { type: match[1] as string, system: undefined, value: token };
  return { type: match[1] as string, system: token.slice(0, bar), value: token.slice(bar + 1) };
}

/** Every string-valued `reference` in a JSON value, with a function to replace it. */
function forEachReference(value: unknown, visit: (reference: string) => string | undefined): void {
  if (Array.isArray(value)) {
    for (const item of value) forEachReference(item, visit);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const object = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(object)) {
    if (key === 'reference' && typeof child === 'string') {
      const replacement = visit(child);
      if (replacement !== undefined) object[key] = replacement;
    } else {
      forEachReference(child, visit);
    }
  }
}

/**
 * Resolves the conditional references of a set of import files before anything is sent, so every
 * resource is stored with plain `Type/id` references (R4 §3.1.0.11.2: a server resolves them in a
 * transaction; a PUT-per-resource import must do it itself). Two streamed passes over the files: the
 * first collects the references, the second finds, among the imported resources, the one whose
 * identifier each names (the only memory held is per distinct reference). What the files do not hold
 * is asked of the node (an earlier import may have stored it). A reference that matches no resource,
 * or more than one, stays as it is and is counted.
 */
export async function resolveConditionalReferences(
  files: readonly ImportFile[],
  lookup: LookupConditionalReference,
): Promise<ResolvedReferences> {
  const notes: SourceNotes = { conditionalReferences: 0, unresolvedReferences: 0 };
  const wanted = new Map<string, IdentifierQuery | undefined>();
  for (const file of files) {
    for await (const item of readImportItems(file, () => false, notes)) {
      if ('invalid' in item) continue;
      forEachReference(item.resource, (reference) => {
        if (!wanted.has(reference) && CONDITIONAL_REFERENCE.test(reference))
          wanted.set(reference, parseIdentifierQuery(reference));
        return undefined;
      });
    }
  }
  if (wanted.size === 0) return new Map();

  // system|value and |value per type → the references naming it.
  const byIdentifier = new Map<string, string[]>();
  const key = (type: string, system: string, value: string) => `${type}\u001f${system}\u001f${value}`;
  for (const [reference, query] of wanted) {
    if (query === undefined) continue;
    const k = key(query.type, query.system ?? '\u0000any', query.value);
    byIdentifier.set(k, [...(byIdentifier.get(k) ?? []), reference]);
  }
  const types = new Set([...wanted.values()].flatMap((q) => (q === undefined ? [] : [q.type])));
  const found = new Map<string, Set<string>>();
  for (const file of files) {
    for await (const item of readImportItems(file, () => false, notes)) {
      if ('invalid' in item || !types.has(item.resourceType)) continue;
      const identifiers = item.resource.identifier;
      if (!Array.isArray(identifiers)) continue;
      for (const identifier of identifiers as { system?: unknown; value?: unknown }[]) {
        if (typeof identifier?.value !== 'string') continue;
        const system = typeof identifier.system === 'string' ? identifier.system : '';
        for (const k of [
          key(item.resourceType, system, identifier.value),
          key(item.resourceType, '\u0000any', identifier.value),
        ]) {
          for (const reference of byIdentifier.get(k) ?? []) {
            const ids = found.get(reference) ?? new Set<string>();
            ids.add(`${item.resourceType}/${item.id}`);
            found.set(reference, ids);
          }
        }
      }
    }
  }

  const resolved = new Map<string, string>();
  for (const reference of wanted.keys()) {
    const ids = found.get(reference);
    if (ids !== undefined) {
      // R4 §3.1.0.11.2: more than one match is an error; the reference is left for the node to refuse.
      if (ids.size === 1) resolved.set(reference, [...ids][0] as string);
      continue;
    }
    const id = await lookup(reference);
    if (id !== undefined) resolved.set(reference, `${CONDITIONAL_REFERENCE.exec(reference)?.[1]}/${id}`);
  }
  return resolved;
}

/** Rewrites, in place, the conditional references of a resource that resolved; counts both kinds. */
export function applyResolvedReferences(
  resource: Record<string, unknown>,
  resolved: ResolvedReferences,
): { resolved: number; unresolved: number } {
  const counts = { resolved: 0, unresolved: 0 };
  forEachReference(resource, (reference) => {
    if (!CONDITIONAL_REFERENCE.test(reference)) return undefined;
    const target = resolved.get(reference);
    if (target === undefined) counts.unresolved++;
    else counts.resolved++;
    return target;
  });
  return counts;
}
