/**
 * Break-glass: a clinician's declared emergency access to one patient, time-boxed and reviewed
 * afterwards. The store keeps only identifiers and times; the clinician's stated reason is in the
 * AuditEvent that opened the session (sealed, in the transparency log), never in this table.
 */
export interface BreakGlassSession {
  readonly id: string;
  /** The clinician, `Practitioner/<id>`. */
  readonly who: string;
  readonly patientId: string;
  /** ISO instants. */
  readonly startedAt: string;
  readonly expiresAt: string;
  /** The AuditEvent (DICOM 110127, Emergency Override Started) that records the declaration. */
  readonly auditEventId: string;
  readonly review?: {
    readonly reviewedAt: string;
    readonly reviewer: string;
    /** The AuditEvent that records the review and its outcome. */
    readonly auditEventId: string;
    readonly outcome: 'justified' | 'not-justified';
  };
}

/**
 * What the policy and the vault read. Asynchronous, so any adapter serves it (SQLite, PostgreSQL);
 * sessions are written as commit writes with their AuditEvents (src/vault/commit-writes.ts).
 */
export interface BreakGlassReader {
  /** The latest session of `who` for this patient still open at `at` (ISO instant). */
  active(who: string, patientId: string, at: string): Promise<BreakGlassSession | undefined>;
  get(id: string): Promise<BreakGlassSession | undefined>;
  /** Sessions, newest first; `unreviewed` keeps those whose window ended without a review. */
  list(filter: { unreviewed?: boolean; at: string; patientId?: string }): Promise<BreakGlassSession[]>;
}

/**
 * The node's break-glass policy (node.json `breakGlass`), enforced by the vault's break-glass service
 * whatever path asks for a window: at most `maxMinutes` per window, and at most `maxOpenings` openings
 * by one clinician in any `openingsWindowMinutes` (counted in the node's store, so the count holds
 * across restarts and across worker processes sharing the database).
 */
export interface BreakGlassPolicy {
  readonly maxMinutes: number;
  readonly maxOpenings: number;
  readonly openingsWindowMinutes: number;
}

/** 60 minutes (the policy's window); 10 openings per clinician in 24 hours. */
export const DEFAULT_BREAK_GLASS_POLICY: BreakGlassPolicy = {
  maxMinutes: 60,
  maxOpenings: 10,
  openingsWindowMinutes: 24 * 60,
};

/** The answer to a reservation: taken, or refused with the oldest opening that still counts. */
export type BreakGlassReservation =
  | { readonly reserved: true }
  | { readonly reserved: false; readonly oldest: string };

/**
 * Sessions read, and openings reserved before they commit. A reservation is a row with an empty
 * window and no AuditEvent yet: it grants nothing and is not listed, but counts against the cap; the
 * commit of the declaring AuditEvent gives it its window (`insert` with the same id).
 */
export interface BreakGlassSessions extends BreakGlassReader {
  /**
   * Reserves `session.id` for `session.who` unless `limit.max` openings of theirs started at or after
   * `limit.since`: one atomic step in the store, so concurrent requests (or worker processes) cannot
   * both take the last one.
   */
  reserve(
    session: Pick<BreakGlassSession, 'id' | 'who' | 'patientId' | 'startedAt'>,
    limit: { readonly max: number; readonly since: string },
  ): Promise<BreakGlassReservation>;
  /** Gives a reservation back when its declaration did not commit (a session already open stays). */
  release(id: string): Promise<void>;
}

/** A store that also writes synchronously, inside a SQLite transaction (or in memory). */
export interface BreakGlassStore extends BreakGlassReader {
  /** Opens the session, or gives its reservation (same id) its window and AuditEvent. */
  insert(session: BreakGlassSession): void;
  recordReview(id: string, review: NonNullable<BreakGlassSession['review']>): void;
}

/** A reservation's row: an empty window and no AuditEvent until its declaration commits. */
export function isReservation(session: Pick<BreakGlassSession, 'auditEventId'>): boolean {
  return session.auditEventId === '';
}

/** An in-memory twin of the SQLite store, for tests of the policy and the vault. */
export class MemoryBreakGlassStore implements BreakGlassStore, BreakGlassSessions {
  private readonly sessions: BreakGlassSession[] = [];

  insert(session: BreakGlassSession): void {
    const index = this.sessions.findIndex((s) => s.id === session.id);
    if (index >= 0) this.sessions[index] = session;
    else this.sessions.push(session);
  }

  async reserve(
    session: Pick<BreakGlassSession, 'id' | 'who' | 'patientId' | 'startedAt'>,
    limit: { readonly max: number; readonly since: string },
  ): Promise<BreakGlassReservation> {
    const counted = this.sessions
      .filter((s) => s.who === session.who && s.startedAt >= limit.since)
      .map((s) => s.startedAt)
      .sort();
    if (counted.length >= limit.max) return { reserved: false, oldest: counted[0] ?? limit.since };
    this.sessions.push({ ...session, expiresAt: session.startedAt, auditEventId: '' });
    return { reserved: true };
  }

  async release(id: string): Promise<void> {
    const index = this.sessions.findIndex((s) => s.id === id && isReservation(s));
    if (index >= 0) this.sessions.splice(index, 1);
  }

  async active(who: string, patientId: string, at: string): Promise<BreakGlassSession | undefined> {
    return this.sessions
      .filter((s) => s.who === who && s.patientId === patientId && s.startedAt <= at && at < s.expiresAt)
      .at(-1);
  }

  async get(id: string): Promise<BreakGlassSession | undefined> {
    return this.sessions.find((s) => s.id === id && !isReservation(s));
  }

  async list(filter: { unreviewed?: boolean; at: string; patientId?: string }): Promise<BreakGlassSession[]> {
    return this.sessions
      .filter((s) => !isReservation(s))
      .filter((s) => filter.patientId === undefined || s.patientId === filter.patientId)
      .filter((s) => filter.unreviewed !== true || (s.review === undefined && s.expiresAt <= filter.at))
      .reverse();
  }

  recordReview(id: string, review: NonNullable<BreakGlassSession['review']>): void {
    const index = this.sessions.findIndex((s) => s.id === id);
    const session = this.sessions[index];
    if (session !== undefined) this.sessions[index] = { ...session, review };
  }
}
