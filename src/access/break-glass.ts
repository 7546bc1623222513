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

/** A store that also writes synchronously, inside a SQLite transaction (or in memory). */
export interface BreakGlassStore extends BreakGlassReader {
  insert(session: BreakGlassSession): void;
  recordReview(id: string, review: NonNullable<BreakGlassSession['review']>): void;
}

/** An in-memory twin of the SQLite store, for tests of the policy and the vault. */
export class MemoryBreakGlassStore implements BreakGlassStore {
  private readonly sessions: BreakGlassSession[] = [];

  insert(session: BreakGlassSession): void {
    this.sessions.push(session);
  }

  async active(who: string, patientId: string, at: string): Promise<BreakGlassSession | undefined> {
    return this.sessions
      .filter((s) => s.who === who && s.patientId === patientId && s.startedAt <= at && at < s.expiresAt)
      .at(-1);
  }

  async get(id: string): Promise<BreakGlassSession | undefined> {
    return this.sessions.find((s) => s.id === id);
  }

  async list(filter: { unreviewed?: boolean; at: string; patientId?: string }): Promise<BreakGlassSession[]> {
    return this.sessions
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
