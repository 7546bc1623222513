/**
 * Issue 17: a transaction Bundle on PostgreSQL paid four round trips per entry (decision 0015, "3x
 * slower than SQLite"). A commit group's versions of distinct resources now go in four statements in
 * all; counted here on the transaction's client, and the rows read back as the one-by-one path wrote them.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { CommitGroup } from '../../src/log/log-storage.js';
import { applyVaultCommitGroupPostgres } from '../../src/storage/postgres/postgres-commit-applier.js';
import {
  openPostgresDatabase,
  type PgQueryable,
  type PostgresDatabase,
} from '../../src/storage/postgres/postgres-database.js';
import { migratePostgres } from '../../src/storage/postgres/postgres-migrations.js';
import { PostgresRecordStorage } from '../../src/storage/postgres/postgres-record-storage.js';
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres/postgres-schema.js';
import type { VersionCommitWrite } from '../../src/vault/commit-writes.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

let server: TestPostgres | undefined;
let db: PostgresDatabase;
beforeAll(async () => {
  server = await startTestPostgres();
  db = openPostgresDatabase(await server.createDatabase('commit_batching'));
  await migratePostgres(db, POSTGRES_MIGRATIONS);
});
afterAll(async () => {
  await db?.close();
  await server?.close();
});

function write(id: string, versionId: number, entryOffset: number, deleted = false): VersionCommitWrite {
  return {
    kind: 'version',
    version: {
      resourceType: 'Observation',
      id,
      versionId,
      patientId: 'p1',
      lastUpdated: `2026-12-07T10:00:0${versionId}Z`,
      deleted,
      sealed: deleted
        ? null
        : {
            format: 1,
            keyVersion: 1,
            nonce: new Uint8Array(12).fill(versionId),
            ciphertext: new Uint8Array([1, 2, 3]),
          },
      versionHash: `${id}-${versionId}`,
      commitmentSalt: null,
    } as VersionCommitWrite['version'],
    index: deleted ? [] : [{ param: 'code', kind: 'token', hash: `h-${id}-${versionId}` }],
    entryOffset,
  };
}

/** Applies a group in a transaction whose client counts its statements. */
async function apply(group: CommitGroup): Promise<number> {
  let statements = 0;
  await db.transaction(async (tx) => {
    const counting: PgQueryable = {
      query: (sql, params) => {
        statements++;
        return tx.query(sql, params);
      },
      execute: (sql, params) => {
        statements++;
        return tx.execute(sql, params);
      },
    } as PgQueryable;
    await applyVaultCommitGroupPostgres(counting, group);
  });
  return statements;
}

test('forty versions of distinct resources take four statements, not four each', async () => {
  const writes = Array.from({ length: 40 }, (_, i) => write(`o${i}`, 1, i));
  expect(await apply({ firstIndex: 100, writes })).toBe(4);
  const records = new PostgresRecordStorage(db);
  const stored = await records.current('Observation', 'o7');
  expect(stored).toMatchObject({ versionId: 1, logIndex: 107, versionHash: 'o7-1', deleted: false });
  expect(Buffer.from(stored?.sealed?.nonce ?? []).equals(Buffer.alloc(12, 1))).toBe(true);
  expect(
    (await records.searchCandidates('Observation', [{ param: 'code', hashes: ['h-o7-1'] }])).map((r) => r.id),
  ).toEqual(['o7']);
});

test('a second version of a resource in the same group is applied after the first, and a delete drops its index rows', async () => {
  const statements = await apply({
    firstIndex: 200,
    writes: [write('o1', 2, 0), write('o2', 2, 1), write('o1', 3, 2, true)],
  });
  expect(statements).toBe(4 + 3); // the run [o1 v2, o2 v2], then o1 v3 alone (a delete inserts no index rows)
  const records = new PostgresRecordStorage(db);
  expect((await records.current('Observation', 'o1'))?.versionId).toBe(3);
  expect((await records.current('Observation', 'o1'))?.deleted).toBe(true);
  expect((await records.history('Observation', 'o1')).map((v) => v.versionId).sort()).toEqual([1, 2, 3]);
  expect((await records.current('Observation', 'o2'))?.versionId).toBe(2);
  expect(
    (await records.searchCandidates('Observation', [{ param: 'code', hashes: ['h-o1-2'] }])).length,
  ).toBe(0);
});
