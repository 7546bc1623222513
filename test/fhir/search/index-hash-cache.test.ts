import type { Patient } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  forgetIndexHashes,
  INDEX_HASH_CACHE_SIZE,
  keptIndexHashCount,
} from '../../../src/fhir/search/extract-search-index-entries.js';
import { extractSearchIndexEntries, loadSearchParameters } from '../../../src/fhir/search/index.js';
import type { KeyedHash } from '../../../src/fhir/search/search-index-entry.js';
import { createKeyedHash, loadSyntheaResources } from './synthea-fixture.js';

/** A keyed hash that counts its calls. */
function counting(keyedHash: KeyedHash): { hash: KeyedHash; calls: () => number } {
  let calls = 0;
  return {
    hash: (value) => {
      calls++;
      return keyedHash(value);
    },
    calls: () => calls,
  };
}

describe('blind-index hashes kept per keyed-hash function (decision 0057)', () => {
  beforeAll(() => {
    loadSearchParameters();
  });

  it('a kept hash is the one the function gives; a function with another key has its own', () => {
    const resources = loadSyntheaResources().slice(0, 400);
    const first = counting(createKeyedHash());
    const second = counting(createKeyedHash());
    const direct = resources.map((r) => extractSearchIndexEntries(r, first.hash));
    const callsFirst = first.calls();
    // The same resources again: every row the same, fewer HMACs (repeats come from the cache).
    const again = resources.map((r) => extractSearchIndexEntries(r, first.hash));
    expect(again).toEqual(direct);
    expect(first.calls()).toBeLessThan(2 * callsFirst);
    // Another key: its own hashes, none of the first function's.
    const other = resources.map((r) => extractSearchIndexEntries(r, second.hash));
    const firstHashes = new Set(direct.flat().map((row) => row.hash));
    expect(other.flat().some((row) => firstHashes.has(row.hash))).toBe(false);
    expect(other.map((rows) => rows.length)).toEqual(direct.map((rows) => rows.length));
    // And each row's hash is exactly the function's hash of its message, whether kept or not.
    const keyed = createKeyedHash();
    const rows = resources.map((r) => extractSearchIndexEntries(r, keyed));
    const uncached = resources.map((r) => extractSearchIndexEntries(r, (v) => keyed(v)));
    expect(rows).toEqual(uncached);
  });

  it('stays exact past its bound (emptied when full)', () => {
    const keyed = createKeyedHash();
    const patients: Patient[] = Array.from({ length: INDEX_HASH_CACHE_SIZE / 8 + 50 }, (_, i) => ({
      resourceType: 'Patient',
      id: `p${i}`,
      name: [{ family: `Family${i}`, given: [`Given${i}`] }],
      identifier: [{ system: 'urn:x', value: `id-${i}` }],
    }));
    const withCache = patients.map((p) => extractSearchIndexEntries(p, keyed));
    const fresh = patients.map((p) => extractSearchIndexEntries(p, (v) => keyed(v)));
    expect(withCache).toEqual(fresh);
  });

  it('string prefixes are cut by code point, never inside a surrogate pair', () => {
    const transparent = (value: string): string => value;
    const patient: Patient = { resourceType: 'Patient', id: 'p', name: [{ family: '𝒜b' }] };
    const prefixes = extractSearchIndexEntries(patient, transparent)
      .filter((row) => row.param === 'family')
      .map((row) => row.hash.split('\u001f')[3]);
    expect(prefixes).toEqual(expect.arrayContaining(['𝒜', '𝒜b']));
    // A lone surrogate would be a UTF-16 code unit 0xD800–0xDFFF with no partner.
    expect(prefixes.some((p) => /^[\uD800-\uDBFF]$/.test(p ?? ''))).toBe(false);
  });

  it('an erasure empties every kept hash (no erased value stays in memory as a key)', () => {
    const resources = loadSyntheaResources().slice(0, 50);
    const keyed = counting(createKeyedHash());
    const before = resources.map((r) => extractSearchIndexEntries(r, keyed.hash));
    expect(keptIndexHashCount(keyed.hash)).toBeGreaterThan(0);
    forgetIndexHashes();
    expect(keptIndexHashCount(keyed.hash)).toBe(0);
    const calls = keyed.calls();
    // Hashed again from nothing, to the same rows.
    expect(resources.map((r) => extractSearchIndexEntries(r, keyed.hash))).toEqual(before);
    expect(keyed.calls()).toBeGreaterThan(calls);
  });
});
