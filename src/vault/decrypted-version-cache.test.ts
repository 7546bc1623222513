import { describe, expect, test } from 'vitest';
import { DecryptedVersionCache } from './decrypted-version-cache.js';
import type { StoredVersion } from './record-storage.js';

function version(overrides: Partial<StoredVersion> = {}): StoredVersion {
  return {
    resourceType: 'Observation',
    id: 'o-1',
    versionId: 1,
    patientId: 'p-1',
    lastUpdated: '2026-12-07T00:00:00Z',
    deleted: false,
    sealed: {
      format: 1,
      keyVersion: 1,
      nonce: new Uint8Array(12).fill(1),
      ciphertext: new Uint8Array(40).fill(2),
    },
    versionHash: 'h',
    logIndex: 0,
    commitmentSalt: null,
    ...overrides,
  } as StoredVersion;
}

describe('DecryptedVersionCache', () => {
  test('answers only for the very same version and sealed bytes', () => {
    const cache = new DecryptedVersionCache();
    cache.set(version(), '{"a":1}');
    expect(cache.get(version())).toBe('{"a":1}');
    expect(cache.get(version({ versionId: 2 }))).toBeUndefined();
    expect(cache.get(version({ patientId: 'p-2' }))).toBeUndefined();
    const sealed = version().sealed as NonNullable<StoredVersion['sealed']>;
    const changed = new Uint8Array(sealed.ciphertext);
    changed[0] = 9;
    expect(cache.get(version({ sealed: { ...sealed, ciphertext: changed } }))).toBeUndefined();
    expect(cache.get(version({ sealed: { ...sealed, keyVersion: 2 } }))).toBeUndefined();
    expect(cache.get(version({ sealed: null, deleted: true }))).toBeUndefined();
  });

  test('keeps its own copy of the sealed bytes: a change to the row buffers afterwards is a miss', () => {
    const cache = new DecryptedVersionCache();
    const row = version();
    cache.set(row, '{"a":1}');
    const sealed = row.sealed as NonNullable<StoredVersion['sealed']>;
    (sealed.ciphertext as Uint8Array)[3] = 7;
    expect(cache.get(row)).toBeUndefined();
    expect(cache.get(version())).toBe('{"a":1}');
    (sealed.nonce as Uint8Array)[0] = 7;
    (sealed.ciphertext as Uint8Array)[3] = 2;
    expect(cache.get(row)).toBeUndefined();
  });

  test('keeps one version per resource, forgets a patient, and stays within its byte bound', () => {
    const cache = new DecryptedVersionCache({ maxBytes: 1000 });
    cache.set(version(), 'v1');
    cache.set(version({ versionId: 2 }), 'v2');
    expect(cache.size).toBe(1);
    expect(cache.get(version({ versionId: 2 }))).toBe('v2');
    cache.set(version({ id: 'o-2', patientId: 'p-2' }), 'other');
    cache.forgetPatient('p-1');
    expect(cache.get(version({ versionId: 2 }))).toBeUndefined();
    expect(cache.size).toBe(1);
    cache.set(version({ id: 'big' }), 'x'.repeat(1000));
    expect(cache.get(version({ id: 'big' }))).toBeUndefined();
  });
});
