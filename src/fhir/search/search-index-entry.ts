/** HMAC of a normalized value under the vault's index key, hex; injected so no key reaches this code. */
export type KeyedHash = (value: string) => string;

export type SearchIndexKind = 'token' | 'reference' | 'string-prefix' | 'uri';

/** One row of the blind index: the SQL stage matches `(param, hash)` with bound parameters only. */
export interface SearchIndexEntry {
  readonly param: string;
  readonly kind: SearchIndexKind;
  readonly hash: string;
}

/**
 * The hashed message binds the resource type, parameter and kind to the value, so equal values in
 * different parameters (a family name that is also a city) do not produce equal, linkable hashes.
 * Unit separators cannot occur in normalized values.
 */
export function hashIndexValue(
  keyedHash: KeyedHash,
  resourceType: string,
  param: string,
  kind: SearchIndexKind,
  value: string,
): string {
  return keyedHash(`${resourceType}\u001f${param}\u001f${kind}\u001f${value}`);
}
