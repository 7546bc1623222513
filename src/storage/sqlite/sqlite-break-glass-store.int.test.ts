/**
 * The break-glass sessions a process keeps in memory (issue 16, decision 0052): a lookup per access
 * decision reads one change counter, not the sessions, yet a declaration, its review or a released
 * reservation written by another process sharing the file (another worker) is seen by the very next
 * lookup. Two connections to one real SQLite file stand for two worker processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BreakGlassSession } from '../../access/index.js';
import { openDatabase, type SqliteDatabase } from './open-database.js';
import {
  BREAK_GLASS_CACHE_SIZE,
  breakGlassMigrations,
  SqliteBreakGlassStore,
} from './sqlite-break-glass-store.js';

const WHO = 'Practitioner/dr-1';
const T0 = '2026-12-07T10:00:00.000Z';
const T1 = '2026-12-07T10:10:00.000Z';
const T2 = '2026-12-07T10:30:00.000Z';
const T3 = '2026-12-07T11:00:00.000Z';
const T4 = '2026-12-07T11:30:00.000Z';

let dir: string;
/** Worker 1: writes the declarations, as the log's commit does (in a transaction). */
let writerDb: SqliteDatabase;
let writer: SqliteBreakGlassStore;
/** Worker 2: only decides; every statement it runs is listed. */
let readerDb: SqliteDatabase;
let reader: SqliteBreakGlassStore;
let statements: string[];

function session(id: string, patientId: string, startedAt: string, expiresAt: string): BreakGlassSession {
  return { id, who: WHO, patientId, startedAt, expiresAt, auditEventId: `audit-${id}` };
}

/** A declaration committed by worker 1, with its AuditEvent's commit (here: a transaction of its own). */
function declare(s: BreakGlassSession): void {
  writerDb.transaction(() => writer.insert(s)).immediate();
}

const sessionReads = () => statements.filter((sql) => /FROM break_glass_sessions/.test(sql)).length;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-break-glass-'));
  writerDb = openDatabase(join(dir, 'node.db'), breakGlassMigrations);
  writer = new SqliteBreakGlassStore(writerDb);
  statements = [];
  readerDb = new Database(join(dir, 'node.db'), { verbose: (sql) => statements.push(String(sql)) });
  reader = new SqliteBreakGlassStore(readerDb);
});

afterEach(() => {
  readerDb.close();
  writerDb.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('break-glass lookups kept per process, exact across processes (decision 0052)', () => {
  it('repeated lookups of a pair read the counter only, not the sessions', async () => {
    for (let i = 0; i < 20; i++) expect(await reader.active(WHO, 'p1', T1)).toBeUndefined();
    expect(sessionReads()).toBe(1);
    expect(statements.filter((sql) => /break_glass_changes/.test(sql))).toHaveLength(20);
  });

  it("a declaration in another worker is seen by this worker's next lookup", async () => {
    expect(await reader.active(WHO, 'p1', T1)).toBeUndefined();
    declare(session('s1', 'p1', T0, T3));
    expect((await reader.active(WHO, 'p1', T1))?.id).toBe('s1');
    // Later lookups in its window come from memory, and its end is kept without a write.
    const reads = sessionReads();
    expect((await reader.active(WHO, 'p1', T2))?.id).toBe('s1');
    expect(await reader.active(WHO, 'p1', T3)).toBeUndefined();
    expect(await reader.active(WHO, 'p1', T4)).toBeUndefined();
    expect(sessionReads()).toBe(reads);
    // Other patients and other clinicians are not covered.
    expect(await reader.active(WHO, 'p2', T1)).toBeUndefined();
    expect(await reader.active('Practitioner/dr-2', 'p1', T1)).toBeUndefined();
  });

  it('a reservation grants nothing; its commit (the window given) is seen; a released one stays nothing', async () => {
    expect(
      await writer.reserve({ id: 's2', who: WHO, patientId: 'p1', startedAt: T0 }, { max: 10, since: T0 }),
    ).toEqual({
      reserved: true,
    });
    expect(await reader.active(WHO, 'p1', T0)).toBeUndefined();
    declare(session('s2', 'p1', T0, T2));
    expect((await reader.active(WHO, 'p1', T1))?.id).toBe('s2');
    await writer.reserve({ id: 's3', who: WHO, patientId: 'p2', startedAt: T1 }, { max: 10, since: T0 });
    expect(await reader.active(WHO, 'p2', T1)).toBeUndefined();
    await writer.release('s3');
    expect(await reader.active(WHO, 'p2', T1)).toBeUndefined();
  });

  it('a declaration rolled back with its commit is never seen', async () => {
    expect(await reader.active(WHO, 'p1', T1)).toBeUndefined();
    expect(() =>
      writerDb
        .transaction(() => {
          writer.insert(session('s4', 'p1', T0, T3));
          throw new Error('the log append failed');
        })
        .immediate(),
    ).toThrow('the log append failed');
    expect(await reader.active(WHO, 'p1', T1)).toBeUndefined();
    expect(await writer.active(WHO, 'p1', T1)).toBeUndefined();
  });

  it('the latest open session wins, as the table query answers; an earlier time is read from the table', async () => {
    declare(session('early', 'p1', T0, T3));
    declare(session('late', 'p1', T1, T2));
    expect((await reader.active(WHO, 'p1', T1))?.id).toBe('late');
    expect((await reader.active(WHO, 'p1', T2))?.id).toBe('early');
    // Asked at T0 after T1 was read: answered by the table, the same as a fresh store.
    expect((await reader.active(WHO, 'p1', T0))?.id).toBe('early');
    expect((await new SqliteBreakGlassStore(writerDb).active(WHO, 'p1', T0))?.id).toBe('early');
  });

  it('stays right past its bound of pairs', async () => {
    declare(session('s5', 'p-last', T0, T3));
    for (let i = 0; i < BREAK_GLASS_CACHE_SIZE + 5; i++) await reader.active(WHO, `p${i}`, T1);
    expect((await reader.active(WHO, 'p-last', T1))?.id).toBe('s5');
    expect(await reader.active(WHO, 'p0', T1)).toBeUndefined();
  });
});
