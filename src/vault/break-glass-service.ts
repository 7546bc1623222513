import {
  type BreakGlassPolicy,
  type BreakGlassSession,
  type BreakGlassSessions,
  DEFAULT_BREAK_GLASS_POLICY,
  evaluateTokenScopes,
  parseRequester,
} from '../access/index.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import type { AccessGate } from './access-gate.js';
import { recordDenied } from './audit-trail.js';
import type { SealedRecordStore } from './sealed-record-store.js';

/** The window a declaration gets when it names none: the policy's 60 minutes, or less if the node allows less. */
const DEFAULT_WINDOW_MINUTES = 60;

/**
 * Break-glass (ARCHITECTURE §4): declaring an emergency, its review by a privacy officer, and the list
 * of sessions. Each declaration and review is an AuditEvent committed with the session row.
 */
export class BreakGlassService {
  private readonly policy: BreakGlassPolicy;

  constructor(
    private readonly store: SealedRecordStore,
    private readonly gate: AccessGate,
    private readonly sessions: BreakGlassSessions,
    policy: Partial<BreakGlassPolicy> = {},
  ) {
    this.policy = { ...DEFAULT_BREAK_GLASS_POLICY, ...policy };
  }

  /**
   * A clinician declares an emergency for one patient, with a reason and purpose ETREAT. The
   * declaration is an AuditEvent marked DICOM 110127 carrying the reason (sealed), and the session row
   * commits with it; for `minutes` (at most the node's `maxMinutes`; more is refused, not shortened,
   * so the clinician knows when access ends), every access by this clinician to this patient is
   * permitted and marked. Issue 14 item 4: the node's policy is enforced here, not by a route, so every
   * path that declares is capped alike, and the count of openings lives in the store (one atomic
   * reservation), so it holds across restarts and worker processes. The caller checks the second
   * factor first.
   */
  async declare(
    patientId: string,
    reason: string,
    context: AccessContext,
    minutes: number = Math.min(DEFAULT_WINDOW_MINUTES, this.policy.maxMinutes),
  ): Promise<BreakGlassSession> {
    const entity = `Patient/${patientId}/$break-glass`;
    const requester = await this.gate.admit('operation', context, { entity, patient: patientId });
    const refuse = (why: string) =>
      this.gate.refuse('operation', context, { entity, patient: patientId, reason: why });
    if (requester.kind !== 'staff' || !requester.roles.includes('clinician')) {
      return refuse('only a clinician may declare an emergency');
    }
    if (context.purpose !== 'ETREAT') return refuse('break-glass needs the purpose of use ETREAT');
    // A SMART app's token bounds it too: one launched for another patient, or without read access to
    // this patient's records, cannot open a window on them (security review, issue 14).
    const scoped = evaluateTokenScopes(context, 'read', 'Patient', {
      resource: { resourceType: 'Patient', id: patientId },
      patientId,
    });
    if (!scoped.allowed) return refuse(scoped.reason);
    const text = reason.trim();
    if (text.length < 10 || text.length > 1000) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'a break-glass reason of 10 to 1000 characters is required',
      );
    }
    const { maxMinutes } = this.policy;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > maxMinutes) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `a break-glass window is 1 to ${maxMinutes} minutes at this node (asked for ${minutes})`,
        { details: { parameter: 'minutes', maxMinutes } },
      );
    }
    const current = await this.store.storage.current('Patient', patientId);
    if (current === undefined || current.deleted) {
      throw new CareLedgerError('ERR_NOT_FOUND', `Patient/${patientId} does not exist`);
    }
    const started = this.store.now();
    const session: BreakGlassSession = {
      id: this.store.newId(),
      who: requester.who,
      patientId,
      startedAt: started.toISOString(),
      expiresAt: new Date(started.getTime() + minutes * 60_000).toISOString(),
      auditEventId: this.store.newId(),
    };
    await this.reserveOpening(session, context, entity);
    try {
      await this.store.commitMany(
        [],
        [
          {
            interaction: 'operation',
            context,
            entity,
            patient: patientId,
            breakGlass: true,
            purposeText: text,
            id: session.auditEventId,
          },
        ],
        [{ kind: 'open-break-glass', session }],
      );
    } catch (error) {
      await this.sessions.release(session.id).catch(() => undefined);
      throw error;
    }
    return session;
  }

  /**
   * Takes one of the clinician's `maxOpenings` in the rolling window, or refuses with 429 and when
   * the oldest counted opening leaves the window; the refusal is audited like any other.
   */
  private async reserveOpening(session: BreakGlassSession, context: AccessContext, entity: string) {
    const { maxOpenings, openingsWindowMinutes } = this.policy;
    const windowMs = openingsWindowMinutes * 60_000;
    const started = Date.parse(session.startedAt);
    const since = new Date(started - windowMs + 1).toISOString();
    const reservation = await this.sessions.reserve(session, { max: maxOpenings, since });
    if (reservation.reserved) return;
    const reason = `break-glass opened ${maxOpenings} times in ${openingsWindowMinutes} minutes, the most this node allows`;
    await recordDenied(this.store, 'operation', context, { entity, patient: session.patientId, reason });
    const retryAfter = Math.max(1, Math.ceil((Date.parse(reservation.oldest) + windowMs - started) / 1000));
    throw new CareLedgerError('ERR_RATE_LIMITED', `access refused: ${reason}`, {
      details: { reason, maxOpenings, openingsWindowMinutes, retryAfter },
    });
  }

  /**
   * The review every break-glass session needs afterwards, by a privacy officer: recorded as an
   * AuditEvent marked DICOM 110128 with the officer's note, committed with the review.
   */
  async review(
    sessionId: string,
    review: { outcome: 'justified' | 'not-justified'; note: string },
    context: AccessContext,
  ): Promise<BreakGlassSession> {
    const session = await this.sessions.get(sessionId);
    if (session === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such break-glass session');
    const entity = `Patient/${session.patientId}/$break-glass-review`;
    const requester = await this.gate.admit('operation', context, { entity, patient: session.patientId });
    if (requester.kind !== 'staff' || !requester.roles.includes('privacy-officer')) {
      return this.gate.refuse('operation', context, {
        entity,
        patient: session.patientId,
        reason: 'only a privacy officer may review a break-glass session',
      });
    }
    if (session.review !== undefined) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'this session has already been reviewed');
    }
    const note = review.note.trim();
    if (note.length === 0 || note.length > 2000) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a review note of 1 to 2000 characters is required');
    }
    const done = {
      reviewedAt: this.store.now().toISOString(),
      reviewer: requester.who,
      auditEventId: this.store.newId(),
      outcome: review.outcome,
    } as const;
    await this.store.commitMany(
      [],
      [
        {
          interaction: 'operation',
          context,
          entity,
          patient: session.patientId,
          breakGlass: true,
          breakGlassStopped: true,
          purposeText: `${review.outcome}: ${note}`,
          id: done.auditEventId,
        },
      ],
      [{ kind: 'review-break-glass', sessionId, review: done }],
    );
    return { ...session, review: done };
  }

  /** Break-glass sessions, for the privacy officer (all) or a patient (their own). */
  async list(context: AccessContext, filter: { unreviewed?: boolean }): Promise<BreakGlassSession[]> {
    const requester = parseRequester(context);
    const at = this.store.now().toISOString();
    if (requester.kind === 'patient') {
      return this.sessions.list({ ...filter, at, patientId: requester.patientId });
    }
    if (requester.kind === 'staff' && requester.roles.includes('privacy-officer')) {
      return this.sessions.list({ ...filter, at });
    }
    throw new CareLedgerError(
      'ERR_FORBIDDEN',
      'access refused: break-glass sessions are shown to the patient and the privacy officer',
    );
  }
}
