import type {
  BreakGlassReservation,
  BreakGlassSession,
  BreakGlassSessions,
  BreakGlassStore,
} from '../../access/index.js';
import type { Migration, SqliteDatabase } from './open-database.js';

export const breakGlassMigrations: Migration[] = [
  {
    id: 'break-glass-001',
    // Identifiers and times only: the stated reason is in the sealed AuditEvent, not here.
    sql: `
      CREATE TABLE break_glass_sessions (
        id TEXT PRIMARY KEY,
        who TEXT NOT NULL,
        patient_id TEXT NOT NULL,
        started_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        audit_event_id TEXT NOT NULL,
        reviewed_at TEXT,
        reviewer TEXT,
        review_audit_event_id TEXT,
        review_outcome TEXT
      );
      CREATE INDEX break_glass_by_who ON break_glass_sessions (who, patient_id, expires_at);
    `,
  },
];

export interface BreakGlassRow {
  id: string;
  who: string;
  patient_id: string;
  started_at: string;
  expires_at: string;
  audit_event_id: string;
  reviewed_at: string | null;
  reviewer: string | null;
  review_audit_event_id: string | null;
  review_outcome: 'justified' | 'not-justified' | null;
}

export function toSession(row: BreakGlassRow): BreakGlassSession {
  return {
    id: row.id,
    who: row.who,
    patientId: row.patient_id,
    startedAt: row.started_at,
    expiresAt: row.expires_at,
    auditEventId: row.audit_event_id,
    ...(row.reviewed_at === null
      ? {}
      : {
          review: {
            reviewedAt: row.reviewed_at,
            reviewer: row.reviewer ?? '',
            auditEventId: row.review_audit_event_id ?? '',
            outcome: row.review_outcome ?? 'not-justified',
          },
        }),
  };
}

export class SqliteBreakGlassStore implements BreakGlassStore, BreakGlassSessions {
  private readonly sql;

  constructor(db: SqliteDatabase) {
    this.sql = {
      // A reservation (same id, empty window) gets its window and AuditEvent with the commit.
      insert: db.prepare(
        `INSERT INTO break_glass_sessions (id, who, patient_id, started_at, expires_at, audit_event_id)
         VALUES (@id, @who, @patientId, @startedAt, @expiresAt, @auditEventId)
         ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at, audit_event_id = excluded.audit_event_id`,
      ),
      // One statement, so one write transaction: SQLite serialises it against every other process.
      reserve: db.prepare(
        `INSERT INTO break_glass_sessions (id, who, patient_id, started_at, expires_at, audit_event_id)
         SELECT @id, @who, @patientId, @startedAt, @startedAt, ''
         WHERE (SELECT count(*) FROM break_glass_sessions WHERE who = @who AND started_at >= @since) < @max`,
      ),
      oldest: db.prepare(
        'SELECT min(started_at) AS oldest FROM break_glass_sessions WHERE who = ? AND started_at >= ?',
      ),
      release: db.prepare(`DELETE FROM break_glass_sessions WHERE id = ? AND audit_event_id = ''`),
      active: db.prepare(
        `SELECT * FROM break_glass_sessions WHERE who = ? AND patient_id = ? AND started_at <= ? AND expires_at > ?
         ORDER BY started_at DESC LIMIT 1`,
      ),
      get: db.prepare(`SELECT * FROM break_glass_sessions WHERE id = ? AND audit_event_id <> ''`),
      list: db.prepare(
        `SELECT * FROM break_glass_sessions
         WHERE audit_event_id <> '' AND (@patientId IS NULL OR patient_id = @patientId)
           AND (@unreviewed = 0 OR (reviewed_at IS NULL AND expires_at <= @at))
         ORDER BY started_at DESC`,
      ),
      review: db.prepare(
        `UPDATE break_glass_sessions SET reviewed_at = @reviewedAt, reviewer = @reviewer,
           review_audit_event_id = @auditEventId, review_outcome = @outcome WHERE id = @id`,
      ),
    };
  }

  insert(session: BreakGlassSession): void {
    this.sql.insert.run({
      id: session.id,
      who: session.who,
      patientId: session.patientId,
      startedAt: session.startedAt,
      expiresAt: session.expiresAt,
      auditEventId: session.auditEventId,
    });
  }

  async reserve(
    session: Pick<BreakGlassSession, 'id' | 'who' | 'patientId' | 'startedAt'>,
    limit: { readonly max: number; readonly since: string },
  ): Promise<BreakGlassReservation> {
    const { changes } = this.sql.reserve.run({ ...session, since: limit.since, max: limit.max });
    if (changes === 1) return { reserved: true };
    const row = this.sql.oldest.get(session.who, limit.since) as { oldest: string | null };
    return { reserved: false, oldest: row.oldest ?? limit.since };
  }

  async release(id: string): Promise<void> {
    this.sql.release.run(id);
  }

  async active(who: string, patientId: string, at: string): Promise<BreakGlassSession | undefined> {
    const row = this.sql.active.get(who, patientId, at, at) as BreakGlassRow | undefined;
    return row === undefined ? undefined : toSession(row);
  }

  async get(id: string): Promise<BreakGlassSession | undefined> {
    const row = this.sql.get.get(id) as BreakGlassRow | undefined;
    return row === undefined ? undefined : toSession(row);
  }

  async list(filter: { unreviewed?: boolean; at: string; patientId?: string }): Promise<BreakGlassSession[]> {
    return (
      this.sql.list.all({
        patientId: filter.patientId ?? null,
        unreviewed: filter.unreviewed === true ? 1 : 0,
        at: filter.at,
      }) as BreakGlassRow[]
    ).map(toSession);
  }

  recordReview(id: string, review: NonNullable<BreakGlassSession['review']>): void {
    this.sql.review.run({ id, ...review });
  }
}
