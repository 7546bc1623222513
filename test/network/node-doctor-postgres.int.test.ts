/**
 * `careledger node doctor` on PostgreSQL, against a throw-away cluster: reachable, schema version
 * against this binary's (newer fails), durability settings, the node role's privileges; each failure
 * says what to fix, and no message carries the URL's user or password.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnoseNode } from '../../src/network/node-doctor.js';
import { diagnosePostgres, findDatabaseUrl } from '../../src/network/node-doctor-postgres.js';
import { openPostgresDatabase } from '../../src/storage/postgres/postgres-database.js';
import { migratePostgres } from '../../src/storage/postgres/postgres-migrations.js';
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres/postgres-schema.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startTestPostgres();
});
afterAll(async () => {
  await server?.close();
});

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const byCheck = (checks: Awaited<ReturnType<typeof diagnosePostgres>>) =>
  Object.fromEntries(checks.map((c) => [`${c.check}:${c.status}`, c]));

describe('node doctor on PostgreSQL', () => {
  it('a fresh database: reachable, no schema yet, durable, a superuser role warned', async () => {
    const url = await server.createDatabase('doctor_fresh');
    const checks = byCheck(await diagnosePostgres(url));
    expect(Object.keys(checks).sort()).toEqual([
      'pg-durable:ok',
      'pg-role:ok',
      'pg-role:warn',
      'pg-schema:warn',
      'postgres:ok',
    ]);
    expect(checks['pg-schema:warn']?.fix).toContain('careledger node start');
    expect(checks['pg-role:warn']?.message).toContain('superuser');
  });

  it('the schema: ok when current, fails when newer than this binary knows', async () => {
    const url = await server.createDatabase('doctor_schema');
    const db = openPostgresDatabase(url);
    await migratePostgres(db, POSTGRES_MIGRATIONS);
    await db.close();
    expect(byCheck(await diagnosePostgres(url))['pg-schema:ok']).toBeDefined();
    await admin(
      url,
      `INSERT INTO careledger_schema (version, name, applied_at) VALUES (${POSTGRES_MIGRATIONS.length + 1}, 'future', 0)`,
    );
    const newer = byCheck(await diagnosePostgres(url))['pg-schema:fail'];
    expect(newer?.message).toContain(`newer than this CareLedger knows (${POSTGRES_MIGRATIONS.length})`);
    expect(newer?.fix).toContain('never an older binary');
  });

  it('fails a server that could lose an acknowledged commit, and says how to turn it back on', async () => {
    const url = await server.createDatabase('doctor_durable');
    await admin(url, 'ALTER DATABASE doctor_durable SET synchronous_commit = off');
    const off = byCheck(await diagnosePostgres(url))['pg-durable:fail'];
    expect(off?.message).toContain('synchronous_commit = off');
    expect(off?.fix).toContain('ALTER SYSTEM SET synchronous_commit = on;');
  });

  it("fails a role that cannot write the node's tables, with the GRANT to run", async () => {
    const url = await server.createDatabase('doctor_role');
    const db = openPostgresDatabase(url);
    await migratePostgres(db, POSTGRES_MIGRATIONS);
    await db.close();
    await admin(url, 'CREATE ROLE clerk LOGIN');
    const clerkUrl = url.replace('postgres://careledger@', 'postgres://clerk@');
    const checks = await diagnosePostgres(clerkUrl);
    const role = byCheck(checks)['pg-role:fail'];
    expect(role?.message).toContain('role clerk cannot read and write');
    expect(role?.message).toContain('auth_users');
    expect(role?.fix).toContain(
      'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clerk',
    );
    await admin(url, 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clerk');
    const granted = byCheck(await diagnosePostgres(clerkUrl));
    // PostgreSQL 15+: only the owner creates in schema public, so an upgrade could not migrate.
    expect(granted['pg-role:warn']?.fix).toContain('GRANT CREATE ON SCHEMA public TO clerk');
  });

  it('an unreachable server fails with what to fix, never the password; the URL comes from careledger.env', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'careledger-doctor-'));
    try {
      const url = `postgres://node:s3cret@${encodeURIComponent(join(dir, 'no-socket'))}/careledger`;
      writeFileSync(
        join(dir, 'careledger.env'),
        `CARELEDGER_CHAIN_RPC_URL=http://x\nCARELEDGER_DATABASE_URL=${url}\n`,
        {
          mode: 0o600,
        },
      );
      expect(findDatabaseUrl(dir, {})).toBe(url);
      const checks = await diagnoseNode(dir, { databaseUrl: url });
      const down = checks.find((c) => c.check === 'postgres');
      expect(down).toMatchObject({ status: 'fail' });
      expect(down?.fix).toContain('start PostgreSQL');
      expect(JSON.stringify(checks)).not.toContain('s3cret');
      const notPostgres = await diagnosePostgres('mysql://x/y');
      expect(notPostgres).toMatchObject([{ check: 'database', status: 'fail' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
