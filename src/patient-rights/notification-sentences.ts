/**
 * The sentence a stored notification carries (issue 22): what the patient, clinician or privacy officer
 * reads in the API, a webhook or an e-mail built from it. Who (a name, not `Practitioner/<id>`), what,
 * why and when in words; the ids and the machine time stay in the notification's own fields (`subject`,
 * `createdAt`) beside the text, never inside it. Pure functions.
 */
import { PURPOSES_OF_USE, type PurposeOfUse } from '../ledger/index.js';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** "7 December 2026, 21:40 UTC": the node does not know the reader's time zone, so it says UTC. */
export function instantWords(iso: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return 'an unknown time';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${at.getUTCDate()} ${MONTHS[at.getUTCMonth()]} ${at.getUTCFullYear()}, ${two(at.getUTCHours())}:${two(at.getUTCMinutes())} UTC`;
}

/** "3 December 2026" for a date or an instant (its UTC day). */
export function dateWords(isoDate: string): string {
  const at = new Date(isoDate.length === 10 ? `${isoDate}T00:00:00Z` : isoDate);
  if (Number.isNaN(at.getTime())) return 'an unknown date';
  return `${at.getUTCDate()} ${MONTHS[at.getUTCMonth()]} ${at.getUTCFullYear()}`;
}

/** "Dr Meredith Grey at Riverside General Hospital", or "A clinician at …" without a name. */
function clinicianAt(name: string | undefined, organization: string): string {
  const who = name === undefined || name.trim() === '' ? 'A clinician' : name.trim();
  return `${who} at ${organization}`;
}

export interface BreakGlassWords {
  /** The clinician's name from their Practitioner resource; undefined when it has none. */
  readonly clinician: string | undefined;
  readonly organization: string;
  /** ISO instant the emergency access ends. */
  readonly until: string;
}

/** To the patient: whose emergency access, until when, and that it will be reviewed. */
export function breakGlassSentenceForPatient(w: BreakGlassWords): string {
  return `${clinicianAt(w.clinician, w.organization)} opened emergency access to your records until ${instantWords(w.until)}. Every record opened under it is recorded, and the privacy officer reviews why.`;
}

/** To the privacy officer: the same, without naming the patient (the review card does, when opened). */
export function breakGlassSentenceForReviewer(w: BreakGlassWords): string {
  return `${clinicianAt(w.clinician, w.organization)} opened emergency access to a patient’s records until ${instantWords(w.until)}. Review the reason they gave in the review queue.`;
}

const PURPOSE_PHRASES: Partial<Record<PurposeOfUse, string>> = {
  TREAT: 'your treatment',
  HPAYMT: 'payment for your care',
  HOPERAT: 'running the service',
  PATRQT: 'your own request',
  COVERAGE: 'your insurance coverage',
};

/** To the patient: who asks, for what, and where to answer. */
export function accessRequestSentence(w: {
  readonly clinician: string | undefined;
  readonly organization: string;
  readonly purpose: PurposeOfUse;
}): string {
  const why = PURPOSE_PHRASES[w.purpose] ?? PURPOSES_OF_USE[w.purpose].display;
  return `${clinicianAt(w.clinician, w.organization)} asks to see your records for ${why}. Answer it on the Sharing page.`;
}

/** To the operator and the privacy officer: what kind of record failed, not which one (that is the subject). */
export function integrityAlertSentence(resourceType: string): string {
  const kind = /^[A-Z][A-Za-z]{1,63}$/.test(resourceType) ? resourceType : 'record';
  return `A stored ${kind} failed its integrity check and was left out of a search. The record and version are in this alert's subject; check the node's storage and backups.`;
}
