import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { StoredVersion } from '../../vault/record-storage.js';
import { openDatabase, type SqliteDatabase } from './open-database.js';
import { PREPARED_QUERY_CACHE_SIZE, recordMigrations, SqliteRecordStorage } from './sqlite-record-storage.js';

let dir: string;
let db: SqliteDatabase;
let storage: SqliteRecordStorage;

function version(id: string, versionId: number, lastUpdated: string, deleted = false): StoredVersion {
  return {
    resourceType: 'Observation',
    id,
    versionId,
    patientId: 'p-1',
    lastUpdated,
    deleted,
    sealed: deleted
      ? null
      : { format: 1, keyVersion: 1, nonce: new Uint8Array(12), ciphertext: new Uint8Array([versionId]) },
    versionHash: `${id}-${versionId}`,
    logIndex: versionId,
    commitmentSalt: null,
  } as StoredVersion;
}

const codeFilter = (...hashes: string[]) => [{ param: 'code', hashes }];
const ids = (versions: readonly StoredVersion[]) => versions.map((v) => `${v.id}/${v.versionId}`);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-records-'));
  db = openDatabase(join(dir, 'node.db'), recordMigrations);
  storage = new SqliteRecordStorage(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteRecordStorage prepared searches', () => {
  test('a search prepared before a write, an update and a delete sees each of them', async () => {
    storage.insertVersion(version('o-1', 1, '2026-01-01T00:00:00Z'), [
      { param: 'code', kind: 'token', hash: 'h1' },
    ]);
    expect(ids(await storage.searchCandidates('Observation', codeFilter('h1')))).toEqual(['o-1/1']);
    // Same query text, so the kept statement runs again: it holds no rows.
    storage.insertVersion(version('o-2', 1, '2026-01-02T00:00:00Z'), [
      { param: 'code', kind: 'token', hash: 'h1' },
    ]);
    expect(ids(await storage.searchCandidates('Observation', codeFilter('h1')))).toEqual(['o-1/1', 'o-2/1']);
    storage.insertVersion(version('o-1', 2, '2026-01-03T00:00:00Z'), [
      { param: 'code', kind: 'token', hash: 'h2' },
    ]);
    expect(ids(await storage.searchCandidates('Observation', codeFilter('h1')))).toEqual(['o-2/1']);
    storage.insertVersion(version('o-2', 2, '2026-01-04T00:00:00Z', true));
    expect(ids(await storage.searchCandidates('Observation', codeFilter('h1')))).toEqual([]);
    expect(ids(await storage.searchCandidates('Observation', codeFilter('h1', 'h2')))).toEqual(['o-1/2']);
  });

  test('more query texts than the bound: answers stay right', async () => {
    storage.insertVersion(version('o-1', 1, '2026-01-01T00:00:00Z'), [
      { param: 'code', kind: 'token', hash: 'h0' },
    ]);
    for (let n = 1; n <= PREPARED_QUERY_CACHE_SIZE + 2; n++) {
      const hashes = Array.from({ length: n }, (_, i) => `h${i}`);
      expect(ids(await storage.searchCandidates('Observation', codeFilter(...hashes)))).toEqual(['o-1/1']);
    }
    expect(ids(await storage.searchCandidates('Observation', codeFilter('h0')))).toEqual(['o-1/1']);
  });
});
