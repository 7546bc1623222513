/**
 * Databases written before the AuditEvent index had its own table (decision 0039) open with it: the
 * AuditEvents' rows in vault_search_index move to vault_audit_index (rows of parameters no longer
 * indexed are dropped), other types' rows stay, and the same searches find the same records. SQLite
 * (records-004) and PostgreSQL (schema 9), each from a database at the step before.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { auditEventIndexEntries } from '../../src/audit/audit-event-index.js';
import { createAuditEvent } from '../../src/audit/create-audit-event.js';
import type { IndexFilter } from '../../src/fhir/search/index.js';
import { hashIndexValue, type KeyedHash } from '../../src/fhir/search/index.js';
import { openPostgresDatabase } from '../../src/storage/postgres/postgres-database.js';
import { migratePostgres } from '../../src/storage/postgres/postgres-migrations.js';
import { PostgresRecordStorage } from '../../src/storage/postgres/postgres-record-storage.js';
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres/postgres-schema.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { recordMigrations, SqliteRecordStorage } from '../../src/storage/sqlite/sqlite-record-storage.js';
import type { RecordStorage } from '../../src/vault/record-storage.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

const keyedHash: KeyedHash = (value) => createHmac('sha256', 'index key').update(value).digest('hex');
const observer = { display: 'Riverside', origin: 'test.example/log' };

/** An old database's rows: two AuditEvents as the previous writer indexed them, and an Observation. */
function oldRows() {
  const events = [
    { id: 'a-1', who: 'Practitioner/dr-1', patient: 'p-1', entity: 'Observation/o-1/_history/1', log: 5 },
    { id: 'a-2', who: 'Practitioner/rn-2', patient: 'p-2', entity: 'Patient/p-2/_history/1', log: 6 },
  ];
  const records = events.map((e) => {
    const auditEvent = {
      ...createAuditEvent({
        interaction: 'read',
        context: { who: e.who, purpose: 'TREAT' },
        entity: e.entity,
        patient: `Patient/${e.patient}`,
        outcome: 'success',
        observer,
        recorded: '2026-11-01T10:00:00.000Z',
      }),
      id: e.id,
    };
    // Before issue 16 item 2 every parameter had rows; `action` is one no longer indexed.
    const index = [
      ...auditEventIndexEntries(auditEvent, keyedHash),
      { param: 'action', hash: hashIndexValue(keyedHash, 'AuditEvent', 'action', 'token', 'R') },
    ];
    return { type: 'AuditEvent', id: e.id, patient: e.patient, log: e.log, index };
  });
  records.push({
    type: 'Observation',
    id: 'o-1',
    patient: 'p-1',
    log: 4,
    index: [{ param: 'code', hash: hashIndexValue(keyedHash, 'Observation', 'code', 'token', '8867-4') }],
  });
  return records;
}

const filter = (param: string, value: string, type = 'AuditEvent'): IndexFilter => ({
  param,
  hashes: [hashIndexValue(keyedHash, type, param, 'reference', value)],
});

async function expectSameSearches(storage: RecordStorage): Promise<void> {
  const ids = async (type: string, filters: IndexFilter[]) =>
    (await storage.searchCandidates(type, filters)).map((v) => v.id);
  expect(await ids('AuditEvent', [filter('patient', 'Patient/p-1')])).toEqual(['a-1']);
  expect(await ids('AuditEvent', [filter('patient', 'p-2')])).toEqual(['a-2']);
  expect(await ids('AuditEvent', [filter('agent', 'Practitioner/rn-2')])).toEqual(['a-2']);
  expect(await ids('AuditEvent', [filter('entity', 'Observation/o-1')])).toEqual(['a-1']);
  expect(
    await ids('AuditEvent', [filter('entity', 'Patient/p-2'), filter('agent', 'Practitioner/dr-1')]),
  ).toEqual([]);
  const read = hashIndexValue(keyedHash, 'AuditEvent', 'subtype', 'token', 'read');
  expect(await ids('AuditEvent', [{ param: 'subtype', hashes: [read] }])).toEqual(['a-1', 'a-2']);
  const code = hashIndexValue(keyedHash, 'Observation', 'code', 'token', '8867-4');
  expect(await ids('Observation', [{ param: 'code', hashes: [code] }])).toEqual(['o-1']);
}

describe('SQLite: records-004 on a database at records-003', () => {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-audit-index-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('moves the AuditEvent rows, keeps the others, and searches find the same records', async () => {
    const path = join(dir, 'node.db');
    const before = recordMigrations.findIndex((m) => m.id === 'records-004');
    const old = openDatabase(path, recordMigrations.slice(0, before));
    const insertRecord = old.prepare(
      `INSERT INTO vault_records (resource_type, id, version_id, patient_id, last_updated, deleted, version_hash,
         log_index, is_current) VALUES (?, ?, 1, ?, '2026-11-01T10:00:00.000Z', 0, 'h', ?, 1)`,
    );
    const insertRow = old.prepare(
      'INSERT INTO vault_search_index (resource_type, id, param, hash) VALUES (?, ?, ?, ?)',
    );
    for (const r of oldRows()) {
      insertRecord.run(r.type, r.id, r.patient, r.log);
      for (const e of r.index) insertRow.run(r.type, r.id, e.param, e.hash);
    }
    old.close();

    const db = openDatabase(path, recordMigrations);
    try {
      const left = db
        .prepare('SELECT resource_type AS type, COUNT(*) AS n FROM vault_search_index GROUP BY resource_type')
        .all();
      expect(left).toEqual([{ type: 'Observation', n: 1 }]);
      // Distinct values of patient, agent, entity and subtype (11, or 9 when the entity is the patient); `action` dropped.
      const moved = db
        .prepare('SELECT log_index, COUNT(*) AS n FROM vault_audit_index GROUP BY log_index')
        .all();
      expect(moved).toEqual([
        { log_index: 5, n: 11 },
        { log_index: 6, n: 9 },
      ]);
      await expectSameSearches(new SqliteRecordStorage(db));
    } finally {
      db.close();
    }
  });
});

describe('PostgreSQL: schema 9 on a database at schema 8', () => {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    await server?.close();
  });

  test('moves the AuditEvent rows, keeps the others, and searches find the same records', async () => {
    if (server === undefined) throw new Error('the PostgreSQL test server did not start');
    const db = openPostgresDatabase(await server.createDatabase('audit_index_migration'));
    try {
      const nine = POSTGRES_MIGRATIONS.findIndex((m) => m.version === 9);
      await migratePostgres(db, POSTGRES_MIGRATIONS.slice(0, nine));
      for (const r of oldRows()) {
        await db.execute(
          `INSERT INTO vault_records (resource_type, id, version_id, patient_id, last_updated, deleted, version_hash,
             log_index, is_current) VALUES ($1, $2, 1, $3, '2026-11-01T10:00:00.000Z', FALSE, 'h', $4, TRUE)`,
          [r.type, r.id, r.patient, r.log],
        );
        for (const e of r.index)
          await db.execute(
            'INSERT INTO vault_search_index (resource_type, id, param, hash) VALUES ($1, $2, $3, $4)',
            [r.type, r.id, e.param, e.hash],
          );
      }
      await migratePostgres(db, POSTGRES_MIGRATIONS);
      expect(
        await db.query(
          'SELECT resource_type AS type, COUNT(*)::int AS n FROM vault_search_index GROUP BY resource_type',
        ),
      ).toEqual([{ type: 'Observation', n: 1 }]);
      expect(
        await db.query(
          'SELECT log_index::int AS log_index, COUNT(*)::int AS n FROM vault_audit_index GROUP BY log_index ORDER BY log_index',
        ),
      ).toEqual([
        { log_index: 5, n: 11 },
        { log_index: 6, n: 9 },
      ]);
      await expectSameSearches(new PostgresRecordStorage(db));
    } finally {
      await db.close();
    }
  });
});
