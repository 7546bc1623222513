/**
 * A record write and the log entries that describe it commit in one SQLite transaction, or not at all:
 * the basis of "no resource without its audit entry, no audit entry without its resource". The writes
 * are data (CommitWrite), applied by the storage adapter inside the append's transaction.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { CommitGroup } from '../../log/log-storage.js';
import { createSignerKey } from '../../log/signed-note.js';
import { TransparencyLog } from '../../log/transparency-log.js';
import { openDatabase, type SqliteDatabase } from './open-database.js';
import { logMigrations, SqliteLogStorage } from './sqlite-log-storage.js';

const keys = createSignerKey('careledger.example/within-commit/log');
let dir: string;
let db: SqliteDatabase;
let log: TransparencyLog;
const bytes = (text: string) => new TextEncoder().encode(text);
const records = () =>
  (
    db.prepare('SELECT name, log_index FROM records ORDER BY name').all() as {
      name: string;
      log_index: number;
    }[]
  ).map((r) => `${r.name}@${r.log_index}`);

/** The test's one kind of write: a named row pointing at its group's first entry. */
const record = (name: string) => [{ kind: 'test-record', name }];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-within-'));
  db = openDatabase(join(dir, 'node.db'), [
    ...logMigrations,
    { id: 'test-records', sql: 'CREATE TABLE records (name TEXT PRIMARY KEY, log_index INTEGER NOT NULL)' },
  ]);
  const insert = db.prepare('INSERT INTO records (name, log_index) VALUES (?, ?)');
  log = await TransparencyLog.open({
    storage: new SqliteLogStorage(db, {
      applyCommitGroup: (group: CommitGroup) => {
        for (const write of group.writes as { kind: string; name: string }[]) {
          if (write.name === 'fails') throw new Error('disk full');
          insert.run(write.name, group.firstIndex);
        }
      },
    }),
    signerKey: keys.signerKey,
    maxBatchSize: 3,
  });
});

afterEach(async () => {
  await log.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('appendAll with a write inside the commit', () => {
  test('commits the write with its entries, at its group first index; groups are never split', async () => {
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) =>
        log.appendAll([bytes(`version ${name}`), bytes(`audit ${name}`)], { withinCommit: record(name) }),
      ),
    );
    expect(results.map((pair) => pair.map((r) => r.index))).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
    ]);
    expect(records()).toEqual(['a@0', 'b@2', 'c@4', 'd@6']);
    expect(log.size).toBe(8);
  });

  test('the writes are plain data: they survive structured cloning (a worker hands them over IPC)', async () => {
    const writes = structuredClone(record('cloned'));
    await log.appendAll([bytes('version cloned')], { withinCommit: writes });
    expect(records()).toEqual(['cloned@0']);
  });

  test('a failing write rolls back its batch: no entries, no record, every append of the batch rejected', async () => {
    const ok = log.appendAll([bytes('version x'), bytes('audit x')], { withinCommit: record('x') });
    const failing = log.appendAll([bytes('version y'), bytes('audit y')], { withinCommit: record('fails') });
    await expect(failing).rejects.toMatchObject({ code: 'ERR_LOG_UNAVAILABLE' });
    await expect(ok).rejects.toMatchObject({ code: 'ERR_LOG_UNAVAILABLE' });
    expect(records()).toEqual([]);
    expect((db.prepare('SELECT COUNT(*) AS n FROM log_leaves').get() as { n: number }).n).toBe(0);
  });

  test('a storage given no applier refuses a batch with commit writes, and stores nothing', async () => {
    const bare = await TransparencyLog.open({ storage: new SqliteLogStorage(db), signerKey: keys.signerKey });
    await expect(bare.appendAll([bytes('version z')], { withinCommit: record('z') })).rejects.toMatchObject({
      code: 'ERR_LOG_UNAVAILABLE',
    });
    expect((db.prepare('SELECT COUNT(*) AS n FROM log_leaves').get() as { n: number }).n).toBe(0);
    await bare.stop();
  });
});
