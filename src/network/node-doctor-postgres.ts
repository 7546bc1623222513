import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  isPostgresUrl,
  openPostgresDatabase,
  type PgQueryable,
} from '../storage/postgres/postgres-database.js';
import { PostgresSecretFingerprintStore } from '../storage/postgres/postgres-member-state-store.js';
import { latestVersion } from '../storage/postgres/postgres-migrations.js';
import { POSTGRES_MIGRATIONS } from '../storage/postgres/postgres-schema.js';
import type { DoctorCheck } from './doctor-check.js';
import { checkSecretsAgainstMember } from './node-doctor-secrets.js';

const ENV = 'CARELEDGER_DATABASE_URL';

/**
 * The PostgreSQL URL a node in `dir` would use: CARELEDGER_DATABASE_URL from the environment, else
 * from the folder's careledger.env (written by `careledger node init --database`), else none (SQLite).
 */
export function findDatabaseUrl(dir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[ENV]) return env[ENV];
  const file = join(dir, 'careledger.env');
  if (!existsSync(file)) return undefined;
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${ENV}=`));
  const value = line?.slice(ENV.length + 1).trim();
  return value === undefined || value === '' ? undefined : value;
}

/** host:port/database of a URL, never its user or password (the report may be pasted into a ticket). */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const host = parsed.host === '' ? (parsed.searchParams.get('host') ?? 'local socket') : parsed.host;
    return `${host}${parsed.pathname}`;
  } catch {
    return 'the configured database';
  }
}

async function checkSchema(db: PgQueryable, where: string): Promise<DoctorCheck> {
  const known = latestVersion(POSTGRES_MIGRATIONS);
  const [table] = await db.query<{ t: string | null }>("SELECT to_regclass('careledger_schema')::text AS t");
  if (table?.t == null)
    return {
      check: 'pg-schema',
      status: 'warn',
      message: `${where} has no CareLedger schema yet (this CareLedger knows version ${known})`,
      fix: 'the first `careledger node start` creates it (the role needs CREATE on the schema)',
    };
  const [readable] = await db.query<{ ok: boolean }>(
    "SELECT has_table_privilege(current_user, 'careledger_schema', 'SELECT') AS ok",
  );
  if (readable?.ok !== true)
    return {
      check: 'pg-schema',
      status: 'fail',
      message: `the node's role cannot read careledger_schema at ${where}`,
      fix: 'connect as the role that owns the CareLedger tables, or GRANT it their privileges (see pg-role)',
    };
  const [row] = await db.query<{ v: number | null }>('SELECT MAX(version)::int AS v FROM careledger_schema');
  const stored = row?.v ?? 0;
  if (stored > known)
    return {
      check: 'pg-schema',
      status: 'fail',
      message: `the database schema is at version ${stored}, newer than this CareLedger knows (${known}); the node refuses to start`,
      fix: 'run the CareLedger release that migrated it (never an older binary on a newer schema)',
    };
  if (stored < known)
    return {
      check: 'pg-schema',
      status: 'warn',
      message: `the database schema is at version ${stored}; this CareLedger migrates it to ${known} at start`,
      fix: 'take a backup (pg_dump) before the next start; migrations run in one transaction',
    };
  return {
    check: 'pg-schema',
    status: 'ok',
    message: `schema version ${stored}, as this CareLedger expects`,
  };
}

// PostgreSQL docs §20.5.1 (fsync, synchronous_commit, full_page_writes): with any of them off, a
// commit the node acknowledged can be lost or torn in a crash (decision 0015 item 3).
async function checkDurability(db: PgQueryable): Promise<DoctorCheck> {
  const rows = await db.query<{ name: string; setting: string }>(
    "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes') ORDER BY name",
  );
  const off = rows.filter((r) => r.setting === 'off').map((r) => r.name);
  if (off.length > 0)
    return {
      check: 'pg-durable',
      status: 'fail',
      message: `${off.join(', ')} = off: an acknowledged write could be lost in a crash; the node refuses to start`,
      fix: `${off.map((name) => `ALTER SYSTEM SET ${name} = on;`).join(' ')} SELECT pg_reload_conf(); (as a superuser; also remove them from postgresql.conf)`,
    };
  return {
    check: 'pg-durable',
    status: 'ok',
    message: rows.map((r) => `${r.name} = ${r.setting}`).join(', '),
  };
}

/** The node's role: it must create its tables at first start and read and write all of them after. */
async function checkPrivileges(db: PgQueryable): Promise<DoctorCheck[]> {
  const [role] = await db.query<{ name: string; superuser: boolean; can_create: boolean; schema: string }>(
    `SELECT current_user AS name, r.rolsuper AS superuser, current_schema() AS schema,
       has_schema_privilege(current_user, current_schema(), 'CREATE') AS can_create
     FROM pg_roles r WHERE r.rolname = current_user`,
  );
  if (role === undefined) return [];
  const missing = await db.query<{ table_name: string }>(
    `SELECT tablename AS table_name FROM pg_tables WHERE schemaname = current_schema()
       AND NOT has_table_privilege(current_user, quote_ident(schemaname) || '.' || quote_ident(tablename),
         'SELECT, INSERT, UPDATE, DELETE')
     ORDER BY tablename`,
  );
  const checks: DoctorCheck[] = [];
  if (missing.length > 0)
    checks.push({
      check: 'pg-role',
      status: 'fail',
      message: `role ${role.name} cannot read and write ${missing.map((m) => m.table_name).join(', ')}`,
      fix: `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${role.schema} TO ${role.name}; (better: let that role own the database)`,
    });
  else if (!role.can_create)
    checks.push({
      check: 'pg-role',
      status: 'warn',
      message: `role ${role.name} cannot create tables in schema ${role.schema}: a CareLedger upgrade cannot migrate`,
      fix: `GRANT CREATE ON SCHEMA ${role.schema} TO ${role.name}; (or make the role the database owner)`,
    });
  else
    checks.push({
      check: 'pg-role',
      status: 'ok',
      message: `role ${role.name} reads and writes every table and can migrate schema ${role.schema}`,
    });
  if (role.superuser)
    checks.push({
      check: 'pg-role',
      status: 'warn',
      message: `role ${role.name} is a superuser`,
      fix: 'give the node a role of its own that owns only its database (CREATE ROLE careledger LOGIN; CREATE DATABASE ... OWNER careledger)',
    });
  return checks;
}

/**
 * `careledger node doctor` on PostgreSQL: the server answers, the schema is one this binary can run
 * on, the server cannot lose an acknowledged commit, and the node's role can do its work. Reads only.
 */
export async function diagnosePostgres(url: string, dir?: string): Promise<DoctorCheck[]> {
  if (!isPostgresUrl(url))
    return [
      {
        check: 'database',
        status: 'fail',
        message: `${ENV} is not a postgres:// URL`,
        fix: `set ${ENV}=postgres://user@host:5432/database (environment or careledger.env), or unset it for SQLite`,
      },
    ];
  const where = describeDatabaseUrl(url);
  const db = openPostgresDatabase(url, { maxConnections: 1, connectTimeoutMs: 5_000 });
  try {
    let version: string;
    try {
      const [row] = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      version = row?.v ?? '?';
    } catch (error) {
      const reason = (error as { details?: { reason?: string } }).details?.reason;
      return [
        {
          check: 'postgres',
          status: 'fail',
          message: `PostgreSQL at ${where} does not answer${reason === 'unavailable' ? '' : ' (refused: check the role, its password and pg_hba.conf)'}`,
          fix: `start PostgreSQL, or fix ${ENV} (host, port, database, user) and pg_hba.conf`,
        },
      ];
    }
    const checks: DoctorCheck[] = [
      { check: 'postgres', status: 'ok', message: `PostgreSQL ${version} answers at ${where}` },
    ];
    for (const [name, run] of [
      ['pg-schema', async () => [await checkSchema(db, where)]],
      ['pg-durable', async () => [await checkDurability(db)]],
      ['pg-role', () => checkPrivileges(db)],
      // Decision 0033: the secret files against the member's (schema 7 and later).
      [
        'secrets',
        async () =>
          dir === undefined ||
          (await db.query("SELECT to_regclass('node_secret_fingerprints') AS t"))[0]?.t === null
            ? []
            : checkSecretsAgainstMember(new PostgresSecretFingerprintStore(db), dir),
      ],
    ] as const) {
      try {
        checks.push(...(await run()));
      } catch (error) {
        checks.push({
          check: name,
          status: 'fail',
          message: `could not check: ${(error as Error).message}`,
          fix: "check the role's privileges and the server's log",
        });
      }
    }
    return checks;
  } finally {
    await db.close();
  }
}
