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
  {
    id: 'break-glass-002',
    // A change counter moved by every write to the sessions, in the writer's own transaction: each
    // process keeps what it read of the sessions until the counter moves (decision 0052).
    sql: `
      CREATE TABLE break_glass_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
      INSERT INTO break_glass_changes (id, n) VALUES (1, 0);
      CREATE TRIGGER break_glass_changed_insert AFTER INSERT ON break_glass_sessions
        BEGIN UPDATE break_glass_changes SET n = n + 1 WHERE id = 1; END;
      CREATE TRIGGER break_glass_changed_update AFTER UPDATE ON break_glass_sessions
        BEGIN UPDATE break_glass_changes SET n = n + 1 WHERE id = 1; END;
      CREATE TRIGGER break_glass_changed_delete AFTER DELETE ON break_glass_sessions
        BEGIN UPDATE break_glass_changes SET n = n + 1 WHERE id = 1; END;
    `,
  },
];

/** Clinician-patient pairs whose sessions one store keeps in memory; emptied when full. */
export const BREAK_GLASS_CACHE_SIZE = 10_000;

/** What one process read of a pair's sessions: those still open or to come at `readAt`. */
interface CachedSessions {
  readonly readAt: string;
  readonly sessions: readonly BreakGlassSession[];
}

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
  /**
   * The sessions of each clinician-patient pair asked about (issue 16: every access decision asks,
   * a search once per record), valid while the change counter stays where it was when they were
   * read. Every write to the sessions, by any process sharing the file, moves the counter in its own
   * transaction, so the first lookup after a declaration commits sees it (decision 0052).
   */
  private readonly cache = new Map<string, CachedSessions>();
  private cachedAt: number | undefined;

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
      // Sessions of a pair not over at a time, reservations (an empty window) left out.
      pair: db.prepare(
        'SELECT * FROM break_glass_sessions WHERE who = ? AND patient_id = ? AND expires_at > ? AND started_at < expires_at',
      ),
      changes: db.prepare('SELECT n FROM break_glass_changes WHERE id = 1').pluck(),
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
    const changes = this.sql.changes.get() as number;
    if (changes !== this.cachedAt) {
      this.cache.clear();
      this.cachedAt = changes;
    }
    const key = `${who}\n${patientId}`;
    let cached = this.cache.get(key);
    // What was read at an earlier time holds every session still open at a later one (a session's
    // window never grows without a write); an earlier time than that is read from the table.
    if (cached === undefined || at < cached.readAt) {
      if (cached !== undefined) {
        const row = this.sql.active.get(who, patientId, at, at) as BreakGlassRow | undefined;
        return row === undefined ? undefined : toSession(row);
      }
      if (this.cache.size >= BREAK_GLASS_CACHE_SIZE) this.cache.clear();
      cached = {
        readAt: at,
        sessions: (this.sql.pair.all(who, patientId, at) as BreakGlassRow[]).map(toSession),
      };
      this.cache.set(key, cached);
    }
    let latest: BreakGlassSession | undefined;
    for (const session of cached.sessions) {
      if (
        session.startedAt <= at &&
        at < session.expiresAt &&
        (latest === undefined || session.startedAt > latest.startedAt)
      )
        latest = session;
    }
    return latest;
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
