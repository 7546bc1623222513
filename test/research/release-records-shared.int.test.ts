/**
 * Study release records live in the member's database (decision 0035), so a member on two hosts
 * answers a release's status and retries its anchoring from either: here two hosts, each with its own
 * node folder, over one SQLite file and over one real PostgreSQL (schema version 8). Before, each host
 * kept the records as files in its own folder and the other host knew no such release.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DatabaseReleaseRecordStore,
  type ReleaseRecord,
  type ReleaseRecordStorage,
} from '../../src/research/release/index.js';
import { openPostgresDatabase } from '../../src/storage/postgres/postgres-database.js';
import { migratePostgres } from '../../src/storage/postgres/postgres-migrations.js';
import { PostgresReleaseRecordStorage } from '../../src/storage/postgres/postgres-release-record-storage.js';
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres/postgres-schema.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  releaseRecordMigrations,
  SqliteReleaseRecordStorage,
} from '../../src/storage/sqlite/sqlite-release-record-storage.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

const STUDY = `0x${'ab'.repeat(32)}` as const;
const running: ReleaseRecord = {
  jobId: 'job-1',
  studyId: STUDY,
  consentBlock: '42',
  profileHash: `0x${'cd'.repeat(32)}`,
  createdAt: '2026-12-07T10:00:00.000Z',
  state: 'running',
};
const closers: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

function hostFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-host-'));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'research-releases');
}

async function sharedByTwoHosts(open: () => Promise<ReleaseRecordStorage>) {
  const a = new DatabaseReleaseRecordStore(await open(), hostFolder());
  const b = new DatabaseReleaseRecordStore(await open(), hostFolder());
  await a.save(running);
  expect(await b.get('job-1')).toEqual(running);
  // Sealed through host B (the job ran there); host A retries the anchoring from what B wrote.
  const sealed: ReleaseRecord = { ...running, state: 'sealed', manifestHash: `0x${'ef'.repeat(32)}` };
  await b.save(sealed);
  expect(await a.get('job-1')).toEqual(sealed);
  expect((await a.list()).map((r) => r.state)).toEqual(['sealed']);
  expect(await a.get('../job-1')).toBeUndefined();
}

/** After sharedByTwoHosts on the same database: job-1 is sealed there. */
async function importsTheOldFolder(open: () => Promise<ReleaseRecordStorage>) {
  const storage = await open();
  const folder = hostFolder();
  mkdirSync(folder, { recursive: true });
  const old: ReleaseRecord = { ...running, jobId: 'job-old', createdAt: '2026-12-01T10:00:00.000Z' };
  writeFileSync(join(folder, 'job-old.json'), JSON.stringify(old));
  writeFileSync(join(folder, 'job-1.json'), JSON.stringify({ ...running, state: 'failed' }));
  const store = new DatabaseReleaseRecordStore(storage, folder);
  const listed = await store.list();
  expect(listed.map((r) => r.jobId)).toEqual(['job-old', 'job-1']);
  // The database's record of job-1 wins over the folder's stale copy.
  expect(listed[1]?.state).toBe('sealed');
}

describe('release records on SQLite', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'careledger-releases-')), 'node.db');
  const open = async () => {
    const db = openDatabase(path, releaseRecordMigrations);
    closers.push(() => {
      db.close();
    });
    return new SqliteReleaseRecordStorage(db);
  };
  it('are shared by two hosts of the member', () => sharedByTwoHosts(open));
  it("import an earlier version's files once, the database winning", () => importsTheOldFolder(open));
});

describe('release records on PostgreSQL (schema version 8)', () => {
  let pg: TestPostgres | undefined;
  const open = async () => {
    if (pg === undefined) {
      pg = await startTestPostgres();
      closers.unshift(() => pg?.close());
    }
    const db = openPostgresDatabase(pg.url);
    closers.push(() => db.close());
    await migratePostgres(db, POSTGRES_MIGRATIONS);
    return new PostgresReleaseRecordStorage(db);
  };
  it('are shared by two hosts of the member', () => sharedByTwoHosts(open), 120_000);
  it("import an earlier version's files once, the database winning", () => importsTheOldFolder(open));
});
