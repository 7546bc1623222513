import type { Resource } from '@medplum/fhirtypes';
import { isSearchableResourceType } from './load-search-parameters.js';
import { hashIndexValue, type KeyedHash, type SearchIndexEntry } from './search-index-entry.js';

/** The row saying a container holds a contained resource of a type (its value is the type). */
export const CONTAINED_TYPE_PARAM = '_contained';

/**
 * The parameter name under which a contained resource's own row is kept in its container's rows. It
 * does not name the contained type (parameter names are stored in the clear): the row's hash binds it.
 */
export function containedParam(param: string): string {
  return `${CONTAINED_TYPE_PARAM}.${param}`;
}

/** The hash of the `_contained` row naming `containedType`, for a container of `containerType`. */
export function containedTypeHash(
  keyedHash: KeyedHash,
  containerType: string,
  containedType: string,
): string {
  return hashIndexValue(keyedHash, containerType, CONTAINED_TYPE_PARAM, 'token', containedType);
}

/**
 * The blind-index rows that let `_contained=true|both` (R4 search.html §3.1.1.5.x) find containers
 * without decrypting every record: for each contained resource, one row naming its type, and each of
 * its own rows (hashed exactly as if it stood alone, so a query on its type finds it) under
 * `_contained.<param>`. `ownRows` extracts a resource's own rows (extractSearchIndexEntries).
 */
export function containedIndexEntries(
  container: Resource,
  keyedHash: KeyedHash,
  ownRows: (resource: Resource) => SearchIndexEntry[],
): SearchIndexEntry[] {
  const contained = (container as { contained?: unknown }).contained;
  if (!Array.isArray(contained)) return [];
  const entries: SearchIndexEntry[] = [];
  const types = new Set<string>();
  const seen = new Set<string>();
  for (const item of contained as Resource[]) {
    const type = item?.resourceType;
    if (typeof type !== 'string' || !isSearchableResourceType(type)) continue;
    if (!types.has(type)) {
      types.add(type);
      entries.push({
        param: CONTAINED_TYPE_PARAM,
        kind: 'token',
        hash: containedTypeHash(keyedHash, container.resourceType, type),
      });
    }
    for (const row of ownRows(item)) {
      const param = containedParam(row.param);
      // Two contained resources with the same value make one row, as values within one resource do.
      if (seen.has(`${param}\u001f${row.hash}`)) continue;
      seen.add(`${param}\u001f${row.hash}`);
      entries.push({ ...row, param });
    }
  }
  return entries;
}
