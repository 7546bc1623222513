import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import {
  extractSearchIndexEntries,
  isSearchableResourceType,
  type KeyedHash,
  matchesSearch,
  type SearchPlan,
  sortResources,
} from '../../../src/fhir/search/index.js';

/** Synthea R4 transaction bundles (synthetichealth/synthea, generated data, no real patients). */
import { SYNTHEA_DIR } from '../../support/shared-data.js';
export const SYNTHEA_BUNDLES = [
  'Dannie_Kshlerin_21177cbf-c2b8-4f55-9765-dc333a5fd5d9.json',
  'Malik_Ward_57df2519-872e-4b5e-8743-264db11d4e5b.json',
  'Rory_Schulist_da66e77d-9258-451d-915a-9ed57822b320.json',
  'Hilario_Barton_f5bccfe7-f57e-489e-bec3-2251cab963ee.json',
  'Andy_Schaden_d630c6ca-046c-470a-8f3a-4dbc3850e7ae.json',
];

interface Bundle {
  entry: { fullUrl: string; resource: Resource & { id: string } }[];
}

/**
 * The searchable resources of the bundles as a FHIR server would store them after the transaction:
 * `urn:uuid:` references rewritten to `Type/id` (R4 §3.1.0.11.2), and a meta.lastUpdated derived
 * from the position so `_lastUpdated` has something to sort on.
 */
export function loadSyntheaResources(files: readonly string[] = SYNTHEA_BUNDLES): Resource[] {
  const resources: Resource[] = [];
  for (const file of files) {
    const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as Bundle;
    const local = new Map(
      bundle.entry.map((entry) => [entry.fullUrl, `${entry.resource.resourceType}/${entry.resource.id}`]),
    );
    const text = JSON.stringify(bundle).replace(
      /"reference":"(urn:uuid:[0-9a-f-]+)"/g,
      (all, urn: string) => {
        const resolved = local.get(urn);
        return resolved === undefined ? all : `"reference":"${resolved}"`;
      },
    );
    for (const { resource } of (JSON.parse(text) as Bundle).entry) {
      if (!isSearchableResourceType(resource.resourceType)) continue;
      const lastUpdated = new Date(Date.UTC(2024, 0, 1) + resources.length * 61_000).toISOString();
      resources.push({ ...resource, meta: { ...resource.meta, versionId: '1', lastUpdated } } as Resource);
    }
  }
  return resources;
}

/** HMAC-SHA256 under a fresh random key, as a vault would use (RFC 2104). */
export function createKeyedHash(key: Buffer = randomBytes(32)): KeyedHash {
  return (value) => createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

export interface IndexedStore {
  readonly resources: readonly Resource[];
  /** Per resource, its `param\u001fhash` rows: the in-memory twin of the SQL index table. */
  readonly rows: ReadonlyMap<Resource, ReadonlySet<string>>;
}

export function createIndexedStore(resources: readonly Resource[], keyedHash: KeyedHash): IndexedStore {
  const rows = new Map<Resource, Set<string>>();
  for (const resource of resources) {
    rows.set(
      resource,
      new Set(extractSearchIndexEntries(resource, keyedHash).map((row) => `${row.param}\u001f${row.hash}`)),
    );
  }
  return { resources, rows };
}

/**
 * The SQL stage in memory: `WHERE resource_type = ? AND id IN (...) AND EXISTS (SELECT 1 FROM
 * search_index WHERE param = ? AND hash IN (...))` per filter, with nothing but bound values.
 */
export function selectCandidates(store: IndexedStore, plan: SearchPlan): Resource[] {
  return store.resources.filter((resource) => {
    if (resource.resourceType !== plan.resourceType) return false;
    if (plan.id !== undefined && !plan.id.includes(resource.id ?? '')) return false;
    const rows = store.rows.get(resource) ?? new Set<string>();
    return plan.indexFilters.every((filter) =>
      filter.hashes.some((hash) => rows.has(`${filter.param}\u001f${hash}`)),
    );
  });
}

export interface SearchOutcome {
  readonly candidates: number;
  readonly matches: readonly Resource[];
  readonly page: readonly Resource[];
}

/** Both stages, then `_sort`, `_offset` and `_count`. */
export function runSearch(store: IndexedStore, plan: SearchPlan): SearchOutcome {
  const candidates = selectCandidates(store, plan);
  const matches = sortResources(
    candidates.filter((resource) => matchesSearch(resource, plan)),
    plan.sort,
  );
  return {
    candidates: candidates.length,
    matches,
    page: matches.slice(plan.offset, plan.offset + plan.count),
  };
}

/** No index: every resource of the store through the matcher. */
export function bruteForce(store: IndexedStore, plan: SearchPlan): Resource[] {
  return sortResources(
    store.resources.filter((resource) => matchesSearch(resource, plan)),
    plan.sort,
  );
}

/** Every string in a JSON value (keys excluded). */
export function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsOf);
  return [];
}

export function idsOf(resources: readonly Resource[]): string[] {
  return resources.map((resource) => `${resource.resourceType}/${resource.id ?? ''}`);
}
