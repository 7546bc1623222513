import type { Resource } from '@medplum/fhirtypes';
import { CareLedgerError } from '../../errors/index.js';
import { containedIndexEntries } from './contained-index-entries.js';
import { extractIndexValues } from './extract-index-values.js';
import { extractReferences, extractStrings, extractTokens, extractUris } from './extract-search-values.js';
import { isSearchableResourceType, loadSearchParameters } from './load-search-parameters.js';
import { MAX_PREFIX_LENGTH, normalizeSearchString, searchWords } from './normalize-search-string.js';
import {
  hashIndexValue,
  type KeyedHash,
  type SearchIndexEntry,
  type SearchIndexKind,
} from './search-index-entry.js';

/**
 * Rows one resource may have. Rows grow linearly with its searchable content (at most 3 per coding,
 * 2 per reference, MAX_PREFIX_LENGTH per word of a string): a Synthea record has 18 on average, the
 * 5,306 R4 examples 142, the largest of them (a ValueSet expansion of 6,401 codes) 6,649. A resource
 * past this bound (a whole terminology) is refused rather than indexed in part, since a partial index
 * would make searches silently miss it.
 */
export const MAX_INDEX_ENTRIES_PER_RESOURCE = 20_000;

/** Hashes kept per keyed-hash function; the map is emptied when it reaches this size. */
export const INDEX_HASH_CACHE_SIZE = 16_384;
/** Values longer than this are hashed every time (a long identifier or URI rarely repeats). */
const MAX_CACHED_MESSAGE_LENGTH = 256;

/**
 * The keyed hashes of recent index values, per keyed-hash function (decision 0057). Most rows repeat
 * from one resource to the next: codes and their systems, statuses, the patient and encounter a
 * Bundle's entries point at, the short prefixes of names (an import's rows are about two thirds
 * repeats). Each row is an HMAC, about a tenth of a create's CPU and of an import's. A keyed hash is a
 * pure function of its key and the value, and each function (one per vault) holds one fixed key, so
 * an entry is never stale; a vault with another key is another function, with a map of its own (the
 * WeakMap lets it go with its vault). Memory is bounded by the size and the message length.
 */
const hashCaches = new WeakMap<KeyedHash, { readonly map: Map<string, string>; forgotten: number }>();
/** How many times forgetIndexHashes was called; a map kept from an earlier count is emptied first. */
let forgetCount = 0;

/**
 * Empties every kept hash (lazily, at each map's next use): an erasure calls it, so the index values
 * of an erased patient (names, identifiers, in plain text as the maps' keys) do not stay in this
 * process's memory until the bound pushes them out.
 */
export function forgetIndexHashes(): void {
  forgetCount += 1;
}

function hashCacheOf(keyedHash: KeyedHash): Map<string, string> {
  const cache = hashCaches.get(keyedHash);
  if (cache === undefined) {
    const map = new Map<string, string>();
    hashCaches.set(keyedHash, { map, forgotten: forgetCount });
    return map;
  }
  if (cache.forgotten !== forgetCount) {
    cache.map.clear();
    cache.forgotten = forgetCount;
  }
  return cache.map;
}

/** How many hashes are kept for `keyedHash` (for tests). */
export function keptIndexHashCount(keyedHash: KeyedHash): number {
  return hashCacheOf(keyedHash).size;
}

/**
 * The blind-index rows of one resource (see docs in planSearch for how queries use them). Only
 * token, reference, string and uri parameters are indexed: dates, numbers and quantities are PHI
 * whose order a hash would not keep anyway, so they are decided in memory. `_id` is a plain column.
 * Rows are deduplicated; their order carries no meaning. Resource types outside
 * SEARCHABLE_RESOURCE_TYPES (Parameters, OperationOutcome) have no rows. Throws ERR_INVALID_INPUT
 * for a resource with more than MAX_INDEX_ENTRIES_PER_RESOURCE rows.
 */
export function extractSearchIndexEntries(resource: Resource, keyedHash: KeyedHash): SearchIndexEntry[] {
  const resourceType = resource.resourceType;
  if (!isSearchableResourceType(resourceType)) return [];
  const params = loadSearchParameters().get(resourceType);
  const seen = new Set<string>();
  const entries: SearchIndexEntry[] = [];
  const hashes = hashCacheOf(keyedHash);
  const emit = (param: string, kind: SearchIndexKind, value: string): void => {
    const key = `${param}\u001f${kind}\u001f${value}`;
    if (seen.has(key)) return;
    if (seen.size >= MAX_INDEX_ENTRIES_PER_RESOURCE) throw tooLarge(resourceType);
    seen.add(key);
    // The cache key is the hashed message itself (hashIndexValue): the type, parameter, kind, value.
    const message = `${resourceType}\u001f${key}`;
    let hash = hashes.get(message);
    if (hash === undefined) {
      hash = hashIndexValue(keyedHash, resourceType, param, kind, value);
      if (message.length <= MAX_CACHED_MESSAGE_LENGTH) {
        if (hashes.size >= INDEX_HASH_CACHE_SIZE) hashes.clear();
        hashes.set(message, hash);
      }
    }
    entries.push({ param, kind, hash });
  };
  for (const param of params?.values() ?? []) {
    if (param.code === '_id') continue;
    switch (param.type) {
      case 'token':
        for (const token of extractTokens(extractIndexValues(resource, param))) {
          emit(param.code, 'token', token.code);
          if (token.system !== undefined) {
            emit(param.code, 'token', `${token.system}|${token.code}`);
            emit(param.code, 'token', `${token.system}|`);
          }
        }
        break;
      case 'reference':
        for (const reference of extractReferences(extractIndexValues(resource, param))) {
          emit(param.code, 'reference', reference.normalized);
          if (reference.id !== undefined) emit(param.code, 'reference', reference.id);
        }
        break;
      case 'string':
        for (const value of extractStrings(extractIndexValues(resource, param))) {
          const normalized = normalizeSearchString(value);
          for (const word of [normalized, ...searchWords(normalized)]) emitPrefixes(param.code, word, emit);
        }
        break;
      case 'uri':
        for (const uri of extractUris(extractIndexValues(resource, param))) emit(param.code, 'uri', uri);
        break;
      default:
        break;
    }
  }
  for (const row of containedIndexEntries(resource, keyedHash, (inner) =>
    extractSearchIndexEntries(inner, keyedHash),
  )) {
    if (entries.length >= MAX_INDEX_ENTRIES_PER_RESOURCE) throw tooLarge(resourceType);
    entries.push(row);
  }
  return entries;
}

function tooLarge(resourceType: string): CareLedgerError {
  return new CareLedgerError(
    'ERR_INVALID_INPUT',
    `the ${resourceType} has more searchable values than the node indexes for one resource (${MAX_INDEX_ENTRIES_PER_RESOURCE})`,
    { details: { resourceType, limit: MAX_INDEX_ENTRIES_PER_RESOURCE } },
  );
}

/** R4 §3.1.1.4.7: string search is starts-with, so each prefix up to MAX_PREFIX_LENGTH is a row. */
function emitPrefixes(
  param: string,
  word: string,
  emit: (param: string, kind: SearchIndexKind, value: string) => void,
): void {
  // By code point, as Array.from splits: a prefix never ends inside a surrogate pair.
  let prefix = '';
  let length = 0;
  for (const char of word) {
    if (length === MAX_PREFIX_LENGTH) break;
    prefix += char;
    length++;
    emit(param, 'string-prefix', prefix);
  }
}
