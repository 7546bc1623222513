import { CareLedgerError } from '../../errors/index.js';
import type { PgQueryable, PostgresDatabase } from './postgres-database.js';

/**
 * One schema step. Versions are 1, 2, 3, ... with no gaps, never renumbered or edited once
 * released: a change is a new version.
 */
export interface PgMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Any constant: every CareLedger process migrating the same database takes this lock first. */
const MIGRATION_LOCK_KEY = 0x6361_7265_6c65;

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
}

export function latestVersion(migrations: readonly PgMigration[]): number {
  migrations.forEach((migration, i) => {
    if (migration.version !== i + 1) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        'PostgreSQL migrations must be numbered 1, 2, 3, ... in order',
        {
          details: { reason: 'migration-order', at: i },
        },
      );
    }
  });
  return migrations.length;
}

async function storedVersion(tx: PgQueryable): Promise<number> {
  const [row] = await tx.query<{ v: number | null }>('SELECT MAX(version)::int AS v FROM careledger_schema');
  return row?.v ?? 0;
}

/**
 * Brings the database to the newest schema this node knows, at start-up, in one transaction (DDL is
 * transactional in PostgreSQL, so a failed step leaves the previous version whole). Processes of one
 * node starting together serialise on an advisory lock; the second finds the work done.
 *
 * Refuses a schema newer than it knows: an older node binary must not write rows whose meaning a
 * newer schema changed (roll the binary forward instead).
 */
export async function migratePostgres(
  db: PostgresDatabase,
  migrations: readonly PgMigration[],
  now: () => number = Date.now,
): Promise<MigrationResult> {
  const known = latestVersion(migrations);
  return db.transaction(async (tx) => {
    await tx.execute('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.execute(
      `CREATE TABLE IF NOT EXISTS careledger_schema (
         version INTEGER PRIMARY KEY,
         name TEXT NOT NULL,
         applied_at BIGINT NOT NULL
       )`,
    );
    const from = await storedVersion(tx);
    if (from > known) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        `the database schema is at version ${from}, newer than this node knows (${known}): run a newer CareLedger`,
        { details: { reason: 'schema-newer', stored: from, known } },
      );
    }
    for (const migration of migrations.slice(from)) {
      await tx.execute(migration.sql);
      await tx.execute('INSERT INTO careledger_schema (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        now(),
      ]);
    }
    return { from, to: known };
  });
}

/**
 * Refuses a server that could lose an acknowledged commit: fsync off, or synchronous_commit off (a
 * commit answered before its WAL record is flushed; PostgreSQL docs §20.5.1, §30.4 "Asynchronous Commit").
 */
export async function verifyDurableSettings(db: PgQueryable): Promise<void> {
  const rows = await db.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')",
  );
  for (const row of rows) {
    if (row.setting === 'off') {
      throw new CareLedgerError(
        'ERR_CONFIG',
        `PostgreSQL runs with ${row.name} = off, so an acknowledged write could be lost: turn it on`,
        { details: { reason: 'not-durable', setting: row.name } },
      );
    }
  }
}
