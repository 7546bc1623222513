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

/** What the indexed parameters of a node-written AuditEvent come from (see createAuditEvent). */
export interface AuditIndexFields {
  readonly interaction: string;
  /** `agent.who` of the requester, then of the person a member acts for (if any). */
  readonly agents: readonly string[];
  /** `entity.what`: the record touched, then the patient (each if any). */
  readonly entities: readonly string[];
}

/** The rows one reference gives a parameter, and whether it names a Patient. */
interface ReferenceRows {
  readonly values: readonly string[];
  readonly entries: readonly SearchIndexEntry[];
  readonly patient: boolean;
  readonly patientValues: readonly string[];
  readonly patientEntries: readonly SearchIndexEntry[];
}

const SUBTYPE_SYSTEM = 'http://hl7.org/fhir/restful-interaction';

/**
 * Per keyed-hash function: the rows of a reference (per parameter) or an interaction, looked up by
 * the text itself (no key string built per lookup); all emptied together at the same bound.
 */
interface RowCache {
  size: number;
  readonly agent: Map<string, ReferenceRows>;
  readonly entity: Map<string, ReferenceRows>;
  readonly subtype: Map<string, ReferenceRows>;
}

const rowCaches = new WeakMap<KeyedHash, RowCache>();

function rowCache(keyedHash: KeyedHash): RowCache {
  let cache = rowCaches.get(keyedHash);
  if (cache === undefined) {
    cache = { size: 0, agent: new Map(), entity: new Map(), subtype: new Map() };
    rowCaches.set(keyedHash, cache);
  }
  return cache;
}

function keep(cache: RowCache, map: Map<string, ReferenceRows>, text: string, rows: ReferenceRows): void {
  if (cache.size >= AUDIT_INDEX_HASH_CACHE_SIZE) {
    cache.agent.clear();
    cache.entity.clear();
    cache.subtype.clear();
    cache.size = 0;
  }
  map.set(text, rows);
  cache.size += 1;
}

function rowsOf(keyedHash: KeyedHash, param: 'agent' | 'entity', reference: string): ReferenceRows {
  const cache = rowCache(keyedHash);
  const map = cache[param];
  const known = map.get(reference);
  if (known !== undefined) return known;
  // The generic path of auditEventIndexEntries, for this one reference.
  const values: string[] = [];
  for (const found of references([{ reference }])) {
    values.push(found.normalized);
    if (found.id !== undefined) values.push(found.id);
  }
  const distinct = [...new Set(values)];
  const patient = PATIENT_REFERENCE.test(reference);
  const rows: ReferenceRows = {
    values: distinct,
    entries: distinct.map((value) => ({
      param,
      kind: 'reference',
      hash: cachedHash(keyedHash, param, 'reference', value),
    })),
    patient,
    patientValues: patient ? distinct : [],
    patientEntries: patient
      ? distinct.map((value) => ({
          param: 'patient',
          kind: 'reference',
          hash: cachedHash(keyedHash, 'patient', 'reference', value),
        }))
      : [],
  };
  keep(cache, map, reference, rows);
  return rows;
}

function subtypeRows(keyedHash: KeyedHash, interaction: string): ReferenceRows {
  const cache = rowCache(keyedHash);
  const known = cache.subtype.get(interaction);
  if (known !== undefined) return known;
  const values: string[] = [];
  for (const token of tokens([{ system: SUBTYPE_SYSTEM, code: interaction }])) {
    values.push(token.code);
    if (token.system !== undefined) values.push(`${token.system}|${token.code}`, `${token.system}|`);
  }
  const distinct = [...new Set(values)];
  const rows: ReferenceRows = {
    values: distinct,
    entries: distinct.map((value) => ({
      param: 'subtype',
      kind: 'token',
      hash: cachedHash(keyedHash, 'subtype', 'token', value),
    })),
    patient: false,
    patientValues: [],
    patientEntries: [],
  };
  keep(cache, cache.subtype, interaction, rows);
  return rows;
}

/** Appends rows of one parameter, skipping values it already has (as `emit` does above). */
function append(
  out: SearchIndexEntry[],
  seen: string[],
  values: readonly string[],
  entries: readonly SearchIndexEntry[],
): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as string;
    if (seen.includes(value)) continue;
    seen.push(value);
    out.push(entries[i] as SearchIndexEntry);
  }
}

/**
 * `auditEventIndexEntries` of the AuditEvent `createAuditEvent` builds from these fields, the same
 * rows in the same order (a test compares them over many inputs), without building the AuditEvent
 * or walking it: the rows of each reference and of each interaction are kept per keyed-hash
 * function (a pure function of the key and the text, bounded like the hashes), so a read's
 * AuditEvent, whose references repeat from one read to the next, costs a few map lookups.
 */
export function auditIndexEntries(fields: AuditIndexFields, keyedHash: KeyedHash): SearchIndexEntry[] {
  const out: SearchIndexEntry[] = [];
  const agents = fields.agents.map((reference) => rowsOf(keyedHash, 'agent', reference));
  const entities = fields.entities.map((reference) => rowsOf(keyedHash, 'entity', reference));
  let seen: string[] = [];
  for (const rows of agents) append(out, seen, rows.values, rows.entries);
  seen = [];
  for (const rows of entities) append(out, seen, rows.values, rows.entries);
  seen = [];
  for (const rows of agents) append(out, seen, rows.patientValues, rows.patientEntries);
  for (const rows of entities) append(out, seen, rows.patientValues, rows.patientEntries);
  const subtype = subtypeRows(keyedHash, fields.interaction);
  append(out, [], subtype.values, subtype.entries);
  return out;
}
