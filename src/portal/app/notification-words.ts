/**
 * A notification in words (issue 22, "names instead of ids everywhere a person looks"): the node
 * stores a short English line with ids in it ("Practitioner/dr-grey opened break-glass access to
 * Patient/c887… until 2026-12-07T17:37:34.455Z"); the portal says it from the notification's subject
 * instead ("Dr Meredith Grey, Riverside General Hospital opened emergency access to your records until
 * 7 Dec 2026, 17:37."). Pure functions (no DOM).
 */
import type { BreakGlassSession } from './break-glass-session.js';
import { purposeWords } from './words.js';

export interface NotificationParts {
  readonly kind: string;
  /** `break-glass/<session id>`, `Consent/<proposal id>`. */
  readonly subject: string;
  /** The node's own sentence, said for kinds the portal does not word itself (a recall, an integrity alert). */
  readonly message?: string;
}

/** A reference (`MedicationDispense/…`) or a machine time in a sentence: not for a person to read. */
const MACHINE_PARTS = /\b[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}|\d{4}-\d{2}-\d{2}T\d/;

/** A request for access (a proposed Consent): who asks and for what purposes. */
export interface AccessRequestParts {
  readonly requester?: string;
  readonly purposes: readonly string[];
}

export interface NotificationContext {
  readonly sessions: readonly BreakGlassSession[];
  readonly requests: ReadonlyMap<string, AccessRequestParts>;
  /** A reference in words ("Dr Meredith Grey, Riverside General Hospital"). */
  readonly nameOf: (reference: string) => string;
  /** A date-time in words ("7 Dec 2026, 17:37"). */
  readonly when: (iso: string) => string;
  /** The patient reads "your records"; the privacy officer "a patient’s record". */
  readonly forPatient: boolean;
}

function capitalised(text: string): string {
  return text === '' ? text : `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

export function notificationWords(n: NotificationParts, context: NotificationContext): string {
  const whose = context.forPatient ? 'your records' : 'a patient’s record';
  if (n.kind === 'break-glass') {
    const id = n.subject.replace(/^break-glass\//, '');
    const s = context.sessions.find((x) => x.id === id);
    const next = context.forPatient
      ? 'Every access under it is recorded and reviewed by the privacy officer.'
      : 'Review it in the review queue.';
    if (s === undefined) return `A clinician opened emergency access to ${whose}. ${next}`;
    return `${capitalised(context.nameOf(s.who))} opened emergency access to ${whose} until ${context.when(s.expiresAt)}. ${next}`;
  }
  if (n.kind === 'access-request') {
    const request = context.requests.get(n.subject.replace(/^Consent\//, ''));
    const who =
      request?.requester === undefined ? 'A clinician' : capitalised(context.nameOf(request.requester));
    const why = purposeWords(request?.purposes ?? []) || 'for your treatment';
    return `${who} asks to see your records ${why}. Answer it on the Sharing page.`;
  }
  if (n.kind === 'break-glass-review') return `The privacy officer reviewed an emergency access to ${whose}.`;
  // Nodes before issue 22's last stop stored lines with ids; those are never shown.
  if (n.message !== undefined && n.message.trim() !== '' && !MACHINE_PARTS.test(n.message))
    return n.message.trim();
  return 'Something happened that concerns your records.';
}
