/**
 * The blind-index rows of an AuditEvent the node writes, built from its known shape
 * (`createAuditEvent`) instead of evaluating every R4 AuditEvent search parameter with FHIRPath:
 * a read writes one AuditEvent, and that evaluation and its 35 rows were a seventh of a read's CPU
 * and most of the bytes it wrote (issue 16 item 2). Only the parameters of `indexedSearchParams`
 * ('AuditEvent') get rows, and each gets exactly the rows `extractSearchIndexEntries` would give it
 * (same normalization, same keyed hashes), so rows written before and after this change answer the
 * same queries; other parameters are matched in memory (see indexed-search-params.ts).
 */
import type { AuditEvent, Coding, Reference } from '@medplum/fhirtypes';
import {
  extractReferences,
  extractTokens,
  type SearchReference,
  type SearchToken,
} from '../fhir/search/extract-search-values.js';
import { hashIndexValue, type KeyedHash, type SearchIndexEntry } from '../fhir/search/search-index-entry.js';

const PATIENT_REFERENCE = /^(?:.*\/)?Patient\/[^/]+(?:\/_history\/[^/]+)?$/;

/** Hashes kept per keyed-hash function; the map is emptied when it reaches this size. */
export const AUDIT_INDEX_HASH_CACHE_SIZE = 4096;

/**
 * The keyed hashes of recent AuditEvent index values, per keyed-hash function. Most rows of a read's
 * AuditEvent repeat from one read to the next (the same user and node as agents, the same subtype
 * codes, often the same patient), and each is an HMAC (issue 16). A keyed hash is a pure function
 * of its key and the value, and each function (one per vault) holds one fixed key, so an entry can
 * never be stale: a vault with another key is another function, with a map of its own.
 */
const hashCaches = new WeakMap<KeyedHash, Map<string, string>>();

function cachedHash(keyedHash: KeyedHash, param: string, kind: 'token' | 'reference', value: string): string {
  let cache = hashCaches.get(keyedHash);
  if (cache === undefined) {
    cache = new Map();
    hashCaches.set(keyedHash, cache);
  }
  const key = `${param}\u001f${kind}\u001f${value}`;
  const known = cache.get(key);
  if (known !== undefined) return known;
  const hash = hashIndexValue(keyedHash, 'AuditEvent', param, kind, value);
  if (cache.size >= AUDIT_INDEX_HASH_CACHE_SIZE) cache.clear();
  cache.set(key, hash);
  return hash;
}

function references(values: readonly (Reference | undefined)[]): SearchReference[] {
  return extractReferences(
    values.filter((v) => v !== undefined).map((value) => ({ type: 'Reference', value })),
  );
}

function tokens(values: readonly Coding[]): SearchToken[] {
  return extractTokens(values.map((value) => ({ type: 'Coding', value })));
}

/** The rows of `patient`, `agent`, `entity` and `subtype` (R4 AuditEvent search parameters). */
export function auditEventIndexEntries(auditEvent: AuditEvent, keyedHash: KeyedHash): SearchIndexEntry[] {
  const seen = new Set<string>();
  const entries: SearchIndexEntry[] = [];
  const emit = (param: string, kind: 'token' | 'reference', value: string): void => {
    const key = `${param}\u001f${value}`;
    if (seen.has(key)) return;
    seen.add(key);
    entries.push({ param, kind, hash: cachedHash(keyedHash, param, kind, value) });
  };
  const emitReferences = (param: string, found: readonly SearchReference[]): void => {
    for (const reference of found) {
      emit(param, 'reference', reference.normalized);
      if (reference.id !== undefined) emit(param, 'reference', reference.id);
    }
  };
  const agents = (auditEvent.agent ?? []).map((agent) => agent.who);
  const entities = (auditEvent.entity ?? []).map((entity) => entity.what);
  // R4: agent = AuditEvent.agent.who; entity = AuditEvent.entity.what; patient =
  // AuditEvent.agent.who.where(resolve() is Patient) | AuditEvent.entity.what.where(resolve() is Patient).
  emitReferences('agent', references(agents));
  emitReferences('entity', references(entities));
  emitReferences(
    'patient',
    references([...agents, ...entities].filter((r) => PATIENT_REFERENCE.test(r?.reference ?? ''))),
  );
  for (const token of tokens(auditEvent.subtype ?? [])) {
    emit('subtype', 'token', token.code);
    if (token.system !== undefined) {
      emit('subtype', 'token', `${token.system}|${token.code}`);
      emit('subtype', 'token', `${token.system}|`);
    }
  }
  return entries;
}
