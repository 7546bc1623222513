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

export interface BreakGlassStore {
  insert(session: BreakGlassSession): void;
  /** The latest session of `who` for this patient still open at `at` (ISO instant). */
  active(who: string, patientId: string, at: string): BreakGlassSession | undefined;
  get(id: string): BreakGlassSession | undefined;
  /** Sessions, newest first; `unreviewed` keeps those whose window ended without a review. */
  list(filter: { unreviewed?: boolean; at: string; patientId?: string }): BreakGlassSession[];
  recordReview(id: string, review: NonNullable<BreakGlassSession['review']>): void;
}

/** An in-memory twin of the SQLite store, for tests of the policy and the vault. */
export class MemoryBreakGlassStore implements BreakGlassStore {
  private readonly sessions: BreakGlassSession[] = [];

  insert(session: BreakGlassSession): void {
    this.sessions.push(session);
  }

  active(who: string, patientId: string, at: string): BreakGlassSession | undefined {
    return this.sessions
      .filter((s) => s.who === who && s.patientId === patientId && s.startedAt <= at && at < s.expiresAt)
      .at(-1);
  }

  get(id: string): BreakGlassSession | undefined {
    return this.sessions.find((s) => s.id === id);
  }

  list(filter: { unreviewed?: boolean; at: string; patientId?: string }): BreakGlassSession[] {
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
