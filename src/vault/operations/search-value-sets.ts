import type { Resource } from '@medplum/fhirtypes';
import { matchesSearch, planSearch } from '../../fhir/search/index.js';
import { splitEscaped, unescapeSearchValue } from '../../fhir/search/search-value-syntax.js';
import {
  createValueSetLookup,
  referencedCanonicals,
  shippedValueSetLookup,
  stripVersion,
  type TerminologySource,
  type ValueSetLookup,
} from '../../fhir/terminology/index.js';
import type { StoredVersion } from '../record-storage.js';
import { candidatesOf, isVisible, mayTouch, openVerified, type SearchScope } from './search-scope.js';

/** Stored ValueSets and CodeSystems one search reads at most (a ValueSet may include others). */
const MAX_TERMINOLOGY_READS = 32;

/** The ValueSet canonicals of a query's `:in` / `:not-in` parameters, chained and `_has` ones included. */
export function valueSetCanonicals(query: URLSearchParams): string[] {
  const canonicals = new Set<string>();
  for (const [key, value] of query) {
    if (!/:(?:not-)?in$/.test(key)) continue;
    for (const item of splitEscaped(value, ',')) canonicals.add(stripVersion(unescapeSearchValue(item)));
  }
  return [...canonicals];
}

/** A stand-in for the first, checking plan: every ValueSet empty until loadValueSetLookup has run. */
export const expandLater: ValueSetLookup = () => ({ codings: new Set() });

/**
 * What expands the query's `:in` / `:not-in` ValueSets: the node's own ValueSets (and the CodeSystems
 * and ValueSets they include), found by `url` through the blind index and read only where the
 * requester may read them, then the shipped R4 definitions. A query without those modifiers reads
 * nothing. The stored versions read name the cached expansion, so an updated ValueSet is expanded
 * afresh.
 */
export async function loadValueSetLookup(
  scope: SearchScope,
  query: URLSearchParams,
): Promise<ValueSetLookup> {
  const canonicals = valueSetCanonicals(query);
  if (canonicals.length === 0) return shippedValueSetLookup;
  const stored = await loadStoredTerminology(scope, { valueSets: canonicals, codeSystems: [] });
  return createValueSetLookup(stored.source, stored.fingerprint);
}

/** Stored ValueSets and CodeSystems read for one expansion, and the versions they were read at. */
export interface StoredTerminology {
  readonly source: TerminologySource;
  /** `Type/id/version` of each stored resource read, sorted and joined: the expansion cache key. */
  readonly fingerprint: string;
  /** The stored versions read (for the audit). */
  readonly versions: readonly StoredVersion[];
}

/**
 * The node's own ValueSets (and the CodeSystems and ValueSets they include) with these canonicals,
 * found by `url` through the blind index and read only where the requester may read them; at most
 * MAX_TERMINOLOGY_READS lookups.
 */
export async function loadStoredTerminology(
  scope: SearchScope,
  wanted: { readonly valueSets: readonly string[]; readonly codeSystems: readonly string[] },
): Promise<StoredTerminology> {
  const pending: ['ValueSet' | 'CodeSystem', string][] = [
    ...wanted.valueSets.map((url) => ['ValueSet', stripVersion(url)] as ['ValueSet', string]),
    ...wanted.codeSystems.map((url) => ['CodeSystem', stripVersion(url)] as ['CodeSystem', string]),
  ];
  const found = { ValueSet: new Map<string, Resource>(), CodeSystem: new Map<string, Resource>() };
  const versions: StoredVersion[] = [];
  const asked = new Set<string>();
  for (let reads = 0; pending.length > 0 && reads < MAX_TERMINOLOGY_READS; reads++) {
    const [kind, url] = pending.shift() as ['ValueSet' | 'CodeSystem', string];
    if (asked.has(`${kind}|${url}`)) continue;
    asked.add(`${kind}|${url}`);
    const stored = await findStored(scope, kind, url);
    if (stored === undefined) continue;
    found[kind].set(url, stored.resource);
    versions.push(stored.version);
    if (kind !== 'ValueSet') continue;
    const named = referencedCanonicals(stored.resource as unknown as Record<string, unknown>);
    for (const next of named.valueSets) pending.push(['ValueSet', next]);
    for (const next of named.codeSystems) pending.push(['CodeSystem', next]);
  }
  const source: TerminologySource = {
    valueSet: (url) => found.ValueSet.get(url) as Record<string, unknown> | undefined,
    codeSystem: (url) => found.CodeSystem.get(url) as Record<string, unknown> | undefined,
  };
  const fingerprint = versions
    .map((v) => `${v.resourceType}/${v.id}/${v.versionId}`)
    .sort()
    .join(',');
  return { source, fingerprint, versions };
}

/** The current stored resource of `kind` with this canonical url the requester may read, if any. */
export async function findStored(
  scope: SearchScope,
  kind: 'ValueSet' | 'CodeSystem',
  url: string,
): Promise<{ readonly resource: Resource; readonly version: StoredVersion } | undefined> {
  const plan = planSearch(kind, { url }, scope.parts.store.searchHash, {
    handling: 'lenient',
    now: scope.now,
  });
  let best: { resource: Resource; version: StoredVersion } | undefined;
  for (const candidate of await candidatesOf(scope, kind, plan.indexFilters)) {
    if (!(await mayTouch(scope, candidate))) continue;
    const resource = await openVerified(scope, candidate);
    if (resource === undefined || !matchesSearch(resource, plan)) continue;
    if (!(await isVisible(scope, candidate, resource))) continue;
    // Several resources may share a canonical (its versions): the one updated last wins.
    const updated = resource.meta?.lastUpdated ?? '';
    if (best === undefined || updated > (best.resource.meta?.lastUpdated ?? ''))
      best = { resource, version: candidate };
  }
  return best;
}
