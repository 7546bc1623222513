/**
 * A record write and the log entries that describe it commit in one SQLite transaction, or not at all:
 * the basis of "no resource without its audit entry, no audit entry without its resource".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
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
  (db.prepare('SELECT name FROM records ORDER BY name').all() as { name: string }[]).map((r) => r.name);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-within-'));
  db = openDatabase(join(dir, 'node.db'), [
    ...logMigrations,
    { id: 'test-records', sql: 'CREATE TABLE records (name TEXT PRIMARY KEY)' },
  ]);
  log = await TransparencyLog.open({
    storage: new SqliteLogStorage(db),
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
  test('commits the write with its entries, and groups are never split across transactions', async () => {
    const insert = db.prepare('INSERT INTO records (name) VALUES (?)');
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((name) =>
        log.appendAll([bytes(`version ${name}`), bytes(`audit ${name}`)], {
          withinCommit: () => insert.run(name),
        }),
      ),
    );
    expect(results.map((pair) => pair.map((r) => r.index))).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
    ]);
    expect(records()).toEqual(['a', 'b', 'c', 'd']);
    expect(log.size).toBe(8);
  });

  test('a failing write rolls back its batch: no entries, no record, every append of the batch rejected', async () => {
    const insert = db.prepare('INSERT INTO records (name) VALUES (?)');
    const ok = log.appendAll([bytes('version x'), bytes('audit x')], { withinCommit: () => insert.run('x') });
    const failing = log.appendAll([bytes('version y'), bytes('audit y')], {
      withinCommit: () => {
        throw new Error('disk full');
      },
    });
    await expect(failing).rejects.toMatchObject({ code: 'ERR_LOG_UNAVAILABLE' });
    await expect(ok).rejects.toMatchObject({ code: 'ERR_LOG_UNAVAILABLE' });
    expect(records()).toEqual([]);
    expect((db.prepare('SELECT COUNT(*) AS n FROM log_leaves').get() as { n: number }).n).toBe(0);
  });
});
