/** A break-glass session as `GET /break-glass` and `/notifications` describe it. */
export interface BreakGlassSession {
  id: string;
  who: string;
  patientId: string;
  startedAt: string;
  expiresAt: string;
  auditEventId?: string;
  review?: { outcome: string; reviewedAt: string; reviewer?: string };
}

/** The parts of an AuditEvent the review card reads. */
export interface ReviewAuditEvent {
  id?: string;
  recorded?: string;
  outcome?: string;
  action?: string;
  subtype?: { code?: string }[];
  purposeOfEvent?: { text?: string; coding?: { code?: string }[] }[];
  agent?: { who?: { reference?: string }; requestor?: boolean }[];
  entity?: { what?: { reference?: string }; role?: { code?: string } }[];
}

/** One access under a break-glass session, as the privacy officer reads it. */
export interface EmergencyAccess {
  readonly when: string;
  /** The record or operation opened: `Observation/12`, `Patient/p1/$everything`. */
  readonly what: string;
  readonly interaction: string;
  readonly allowed: boolean;
}

/** The clinician's stated reason: the text of the purpose on the AuditEvent that opened the session. */
export function breakGlassReason(opening: ReviewAuditEvent | undefined): string | undefined {
  return opening?.purposeOfEvent?.find((p) => (p.text ?? '') !== '')?.text;
}

/**
 * What the clinician opened during the session: the patient's AuditEvents by that clinician from the
 * session's start to its end (or now), oldest first, without the declaration itself.
 */
export function emergencyAccesses(
  session: BreakGlassSession,
  events: readonly ReviewAuditEvent[],
): EmergencyAccess[] {
  return events
    .filter((e) => e.id !== session.auditEventId)
    .filter((e) => e.agent?.some((a) => a.requestor !== false && a.who?.reference === session.who))
    .filter((e) => (e.recorded ?? '') >= session.startedAt && (e.recorded ?? '') <= session.expiresAt)
    .map((e) => ({
      when: e.recorded ?? '',
      what:
        e.entity?.find((x) => x.role?.code !== '1')?.what?.reference ?? e.entity?.[0]?.what?.reference ?? '',
      interaction: e.subtype?.[0]?.code ?? e.action ?? '',
      allowed: e.outcome === '0' || e.outcome === undefined,
    }))
    .sort((a, b) => a.when.localeCompare(b.when));
}
