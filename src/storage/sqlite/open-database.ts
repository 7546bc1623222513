import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CareLedgerError } from '../../errors/index.js';

export type SqliteDatabase = Database.Database;

/** One schema step. `id` is global and never reused; steps run once, in the order given. */
export interface Migration {
  readonly id: string;
  readonly sql: string;
}

/**
 * Opens (creating if needed) a node's SQLite database: WAL journal with `synchronous = FULL`, so a
 * committed transaction survives a power cut, not just a process crash (SQLite docs, "PRAGMA
 * synchronous": in WAL mode NORMAL may lose the last commits on power loss).
 */
export function openDatabase(
  path: string,
  migrations: readonly Migration[] = [],
  options: MigrationOptions = {},
): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: SqliteDatabase;
  try {
    db = new Database(path);
  } catch (cause) {
    throw new CareLedgerError('ERR_STORAGE', 'cannot open the database file', { cause, details: { path } });
  }
  // First, so that the switch to WAL and the migrations wait for another process opening the same
  // file (a member's worker processes start together) instead of failing with SQLITE_BUSY.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Deleted rows are overwritten, not left in free pages: crypto-shredding and index erasure must
  // not leave the bytes they remove readable in the file.
  db.pragma('secure_delete = ON');
  try {
    applyMigrations(db, migrations, options);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

export interface MigrationOptions {
  /**
   * The list is every migration this program knows (the node's start-up): a database with a step
   * not in it was written by a newer CareLedger, and is refused rather than misread.
   */
  readonly refuseNewer?: boolean;
}

export function applyMigrations(
  db: SqliteDatabase,
  migrations: readonly Migration[],
  options: MigrationOptions = {},
): void {
  // One IMMEDIATE transaction from reading the applied steps to recording the new ones: two processes
  // opening a fresh file at once (a member's workers on PostgreSQL each open node.db) both read "none
  // applied" under a deferred transaction, and the second failed on CREATE TABLE (exit 70).
  db.transaction(() => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)',
    );
    const applied = new Set(
      (db.prepare('SELECT id FROM schema_migrations').all() as { id: string }[]).map((row) => row.id),
    );
    if (options.refuseNewer === true) {
      const known = new Set(migrations.map((migration) => migration.id));
      const unknown = [...applied].filter((id) => !known.has(id));
      if (unknown.length > 0) {
        throw new CareLedgerError(
          'ERR_CONFIG',
          `the database has ${unknown.length} schema step(s) this node does not know (written by a newer CareLedger): run a newer CareLedger`,
          { details: { reason: 'schema-newer', steps: unknown.slice(0, 5) } },
        );
      }
    }
    const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      db.exec(migration.sql);
      record.run(migration.id, Date.now());
    }
  }).immediate();
}
