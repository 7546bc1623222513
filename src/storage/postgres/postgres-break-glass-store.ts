import type { BreakGlassReservation, BreakGlassSession, BreakGlassSessions } from '../../access/index.js';
import { type BreakGlassRow, toSession } from '../sqlite/sqlite-break-glass-store.js';
import type { PgQueryable, PostgresDatabase } from './postgres-database.js';

/**
 * Opens a session (a commit write of the AuditEvent that declares it); a reservation with the same id
 * gets its window and AuditEvent.
 */
export async function insertBreakGlassSessionPostgres(
  tx: PgQueryable,
  session: BreakGlassSession,
): Promise<void> {
  await tx.execute(
    `INSERT INTO break_glass_sessions (id, who, patient_id, started_at, expires_at, audit_event_id)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, audit_event_id = EXCLUDED.audit_event_id`,
    [session.id, session.who, session.patientId, session.startedAt, session.expiresAt, session.auditEventId],
  );
}

/** Records a session's review (a commit write of the review's AuditEvent). */
export async function recordBreakGlassReviewPostgres(
  tx: PgQueryable,
  id: string,
  review: NonNullable<BreakGlassSession['review']>,
): Promise<void> {
  await tx.execute(
    `UPDATE break_glass_sessions SET reviewed_at = $2, reviewer = $3, review_audit_event_id = $4, review_outcome = $5
     WHERE id = $1`,
    [id, review.reviewedAt, review.reviewer, review.auditEventId, review.outcome],
  );
}

/** Break-glass sessions on PostgreSQL: reads here; writes commit with their AuditEvents (above). */
export class PostgresBreakGlassStore implements BreakGlassSessions {
  constructor(private readonly db: PostgresDatabase) {}

  /**
   * Count and insert under a transaction-scoped advisory lock on the clinician, so two processes
   * cannot both take the last opening (READ COMMITTED alone would let both count the same rows).
   */
  reserve(
    session: Pick<BreakGlassSession, 'id' | 'who' | 'patientId' | 'startedAt'>,
    limit: { readonly max: number; readonly since: string },
  ): Promise<BreakGlassReservation> {
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext('careledger:break-glass:' || $1))`, [
        session.who,
      ]);
      const [row] = await tx.query<{ count: string; oldest: string | null }>(
        'SELECT count(*) AS count, min(started_at) AS oldest FROM break_glass_sessions WHERE who = $1 AND started_at >= $2',
        [session.who, limit.since],
      );
      if (Number(row?.count ?? 0) >= limit.max)
        return { reserved: false, oldest: row?.oldest ?? limit.since };
      await tx.execute(
        `INSERT INTO break_glass_sessions (id, who, patient_id, started_at, expires_at, audit_event_id)
         VALUES ($1, $2, $3, $4, $4, '')`,
        [session.id, session.who, session.patientId, session.startedAt],
      );
      return { reserved: true };
    });
  }

  async release(id: string): Promise<void> {
    await this.db.execute(`DELETE FROM break_glass_sessions WHERE id = $1 AND audit_event_id = ''`, [id]);
  }

  insert(session: BreakGlassSession): Promise<void> {
    return insertBreakGlassSessionPostgres(this.db, session);
  }

  recordReview(id: string, review: NonNullable<BreakGlassSession['review']>): Promise<void> {
    return recordBreakGlassReviewPostgres(this.db, id, review);
  }

  async active(who: string, patientId: string, at: string): Promise<BreakGlassSession | undefined> {
    const [row] = await this.db.query<BreakGlassRow>(
      `SELECT * FROM break_glass_sessions WHERE who = $1 AND patient_id = $2 AND started_at <= $3 AND expires_at > $3
       ORDER BY started_at DESC LIMIT 1`,
      [who, patientId, at],
    );
    return row === undefined ? undefined : toSession(row);
  }

  async get(id: string): Promise<BreakGlassSession | undefined> {
    const [row] = await this.db.query<BreakGlassRow>(
      `SELECT * FROM break_glass_sessions WHERE id = $1 AND audit_event_id <> ''`,
      [id],
    );
    return row === undefined ? undefined : toSession(row);
  }

  async list(filter: { unreviewed?: boolean; at: string; patientId?: string }): Promise<BreakGlassSession[]> {
    const rows = await this.db.query<BreakGlassRow>(
      `SELECT * FROM break_glass_sessions
       WHERE audit_event_id <> '' AND ($1::text IS NULL OR patient_id = $1)
         AND (NOT $2 OR (reviewed_at IS NULL AND expires_at <= $3))
       ORDER BY started_at DESC`,
      [filter.patientId ?? null, filter.unreviewed === true, filter.at],
    );
    return rows.map(toSession);
  }
}
