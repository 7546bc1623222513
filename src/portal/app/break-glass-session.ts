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
