import { createHash } from 'node:crypto';
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

describe('AuditEvent index written in batches (decision 0039)', () => {
  const hex = (n: number) => createHash('sha256').update(String(n)).digest('hex');
  /** AuditEvent n: patient key n % 7, its own entity key, a shared subtype key. */
  function audit(n: number): [StoredVersion, { param: string; kind: 'reference'; hash: string }[]] {
    return [
      { ...version(`a-${n}`, 1, '2026-01-01T00:00:00Z'), resourceType: 'AuditEvent', logIndex: 100 + n },
      [
        { param: 'patient', kind: 'reference', hash: hex(1_000 + (n % 7)) },
        { param: 'entity', kind: 'reference', hash: hex(2_000 + n) },
        { param: 'subtype', kind: 'reference', hash: hex(3_000) },
      ],
    ];
  }
  const count = (table: string) =>
    (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  const found = async (hash: string) =>
    (await storage.searchCandidates('AuditEvent', [{ param: 'patient', hashes: [hash] }]))
      .map((v) => v.id)
      .sort();
  const expected = (upTo: number, patient: number) =>
    Array.from({ length: upTo }, (_, n) => n)
      .filter((n) => n % 7 === patient)
      .map((n) => `a-${n}`)
      .sort();

  test('found while pending, found the same once moved; the batch is moved after the commit that fills it', async () => {
    const { AUDIT_INDEX_BATCH } = await import('./sqlite-audit-index.js');
    const write = db.transaction((n: number) => storage.insertVersion(...audit(n)));
    for (let n = 0; n < AUDIT_INDEX_BATCH - 1; n++) write(n);
    expect(count('vault_audit_pending')).toBe(AUDIT_INDEX_BATCH - 1);
    expect(count('vault_audit_index')).toBe(0);
    expect(await found(hex(1_003))).toEqual(expected(AUDIT_INDEX_BATCH - 1, 3));
    const entity = await storage.searchCandidates('AuditEvent', [{ param: 'entity', hashes: [hex(2_010)] }]);
    expect(entity.map((v) => v.id)).toEqual(['a-10']);

    write(AUDIT_INDEX_BATCH - 1);
    // Still pending within the tick of the commit; moved on the next one, in a transaction of its own.
    expect(count('vault_audit_pending')).toBe(AUDIT_INDEX_BATCH);
    await new Promise((resolve) => setImmediate(resolve));
    expect(count('vault_audit_pending')).toBe(0);
    // 7 patient keys, one entity key per AuditEvent and the shared subtype key, each with every log index.
    expect(count('vault_audit_index')).toBe(3 * AUDIT_INDEX_BATCH);
    for (let p = 0; p < 7; p++) expect(await found(hex(1_000 + p))).toEqual(expected(AUDIT_INDEX_BATCH, p));

    // Some moved, some pending: a search finds both.
    write(AUDIT_INDEX_BATCH);
    expect(count('vault_audit_pending')).toBe(1);
    expect(await found(hex(1_000 + (AUDIT_INDEX_BATCH % 7)))).toEqual(
      expected(AUDIT_INDEX_BATCH + 1, AUDIT_INDEX_BATCH % 7),
    );
    expect(storage.auditIndex.movePending()).toBe(1);
    expect(storage.auditIndex.movePending()).toBe(0);
    expect(await found(hex(1_000 + (AUDIT_INDEX_BATCH % 7)))).toEqual(
      expected(AUDIT_INDEX_BATCH + 1, AUDIT_INDEX_BATCH % 7),
    );
  });
});
