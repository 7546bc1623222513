/**
 * Migrations are versioned, run at start-up, and a node refuses a schema newer than it knows, on
 * both adapters; PostgreSQL is refused when it could lose an acknowledged commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresDatabase } from '../../src/storage/postgres/postgres-database.js';
import {
  migratePostgres,
  type PgMigration,
  verifyDurableSettings,
} from '../../src/storage/postgres/postgres-migrations.js';
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres/postgres-schema.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

const steps: PgMigration[] = [
  { version: 1, name: 'one', sql: 'CREATE TABLE t1 (a INTEGER)' },
  { version: 2, name: 'two', sql: 'CREATE TABLE t2 (b INTEGER)' },
];

describe('SQLite schema steps', () => {
  it('refuses a database with a step this node does not know, when asked to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'careledger-migrate-'));
    try {
      const path = join(dir, 'node.db');
      const one = { id: 'x-001', sql: 'CREATE TABLE x1 (a INTEGER)' };
      const two = { id: 'x-002', sql: 'CREATE TABLE x2 (a INTEGER)' };
      openDatabase(path, [one, two], { refuseNewer: true }).close();
      openDatabase(path, [one, two], { refuseNewer: true }).close();
      expect(() => openDatabase(path, [one], { refuseNewer: true })).toThrow(
        expect.objectContaining({
          code: 'ERR_CONFIG',
          details: { reason: 'schema-newer', steps: ['x-002'] },
        }),
      );
      // A tool that opens the file for one store only does not judge the rest.
      openDatabase(path, [one]).close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PostgreSQL migrations', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('apply in order once, serialise concurrent starts, and refuse a newer schema', async () => {
    const url = await server.createDatabase('migrations');
    const a = openPostgresDatabase(url);
    const b = openPostgresDatabase(url);
    try {
      const results = await Promise.all([
        migratePostgres(a, steps, () => 5),
        migratePostgres(b, steps, () => 6),
      ]);
      expect(results.map((r) => r.to)).toEqual([2, 2]);
      expect(results.map((r) => r.from).sort()).toEqual([0, 2]);
      expect(await a.query('SELECT version, name FROM careledger_schema ORDER BY version')).toEqual([
        { version: 1, name: 'one' },
        { version: 2, name: 'two' },
      ]);
      expect(await migratePostgres(a, steps)).toEqual({ from: 2, to: 2 });
      await expect(migratePostgres(a, steps.slice(0, 1))).rejects.toMatchObject({
        code: 'ERR_CONFIG',
        details: { reason: 'schema-newer', stored: 2, known: 1 },
      });
      await expect(migratePostgres(a, [steps[1] as PgMigration])).rejects.toMatchObject({
        details: { reason: 'migration-order' },
      });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a failing step leaves the previous version whole', async () => {
    const url = await server.createDatabase('failing');
    const db = openPostgresDatabase(url);
    try {
      await migratePostgres(db, steps.slice(0, 1));
      const broken = [
        ...steps.slice(0, 1),
        { version: 2, name: 'broken', sql: 'CREATE TABLE t2 (b INTEGER); SELECT * FROM nowhere' },
      ];
      await expect(migratePostgres(db, broken)).rejects.toMatchObject({ code: 'ERR_STORAGE' });
      expect(await db.query("SELECT to_regclass('t2') AS t")).toEqual([{ t: null }]);
      expect(await migratePostgres(db, steps)).toEqual({ from: 1, to: 2 });
    } finally {
      await db.close();
    }
  });

  it('the node schema applies to an empty database', async () => {
    const db = openPostgresDatabase(await server.createDatabase('node_schema'));
    try {
      expect(await migratePostgres(db, POSTGRES_MIGRATIONS)).toEqual({
        from: 0,
        to: POSTGRES_MIGRATIONS.length,
      });
      await verifyDurableSettings(db);
    } finally {
      await db.close();
    }
  });

  it('version 6 adds the supply tables to a version 5 database; a version 5 node then refuses it', async () => {
    const db = openPostgresDatabase(await server.createDatabase('supply_v6'));
    try {
      const upToFive = POSTGRES_MIGRATIONS.slice(0, 5);
      expect(await migratePostgres(db, upToFive)).toEqual({ from: 0, to: 5 });
      expect(await db.query("SELECT to_regclass('epcis_events') AS t")).toEqual([{ t: null }]);
      expect(await migratePostgres(db, POSTGRES_MIGRATIONS.slice(0, 6))).toEqual({ from: 5, to: 6 });
      expect(await db.query(`SELECT name FROM careledger_schema WHERE version = 6`)).toEqual([
        { name: expect.stringContaining('supply chain') },
      ]);
      for (const table of [
        'epcis_events',
        'epcis_event_epcs',
        'supply_dispenses',
        'supply_recalls_handled',
        'supply_follow_cursor',
      ]) {
        expect(await db.query('SELECT to_regclass($1)::text AS t', [table])).toEqual([{ t: table }]);
      }
      await expect(migratePostgres(db, upToFive)).rejects.toMatchObject({
        code: 'ERR_CONFIG',
        details: { reason: 'schema-newer', stored: 6, known: 5 },
      });
    } finally {
      await db.close();
    }
  });

  it('refuses a server that may lose an acknowledged commit', async () => {
    const db = openPostgresDatabase(
      `${server.url}?options=${encodeURIComponent('-c synchronous_commit=off')}`,
    );
    try {
      await expect(verifyDurableSettings(db)).rejects.toMatchObject({
        code: 'ERR_CONFIG',
        details: { reason: 'not-durable', setting: 'synchronous_commit' },
      });
    } finally {
      await db.close();
    }
  });
});
