/**
 * Read state of messages, per user, without a store of its own: a message addressed to a user has
 * been read by them when the patient's audit trail holds their successful read of it. Opening a
 * message is a FHIR read (audited like any other), so "read" means exactly what the trail proves.
 */
import type { AuditEvent, Communication } from '@medplum/fhirtypes';

/** Is `who` among the message's addressees? A message to no one in particular goes to the whole care team. */
export function isAddressedTo(message: Communication, who: string, isCareTeam: boolean): boolean {
  if (message.sender?.reference === who) return false;
  const recipients = (message.recipient ?? []).map((r) => r.reference ?? '');
  if (recipients.includes(who)) return true;
  // A patient's message to no practitioner in particular is for every member of the care team.
  const fromPatient = message.sender?.reference?.startsWith('Patient/') === true;
  return isCareTeam && fromPatient && !recipients.some((r) => r.startsWith('Practitioner/'));
}

/** The ids of Communications `who` has read, from AuditEvents (read or vread, success). */
export function readMessageIds(events: readonly AuditEvent[], who: string): Set<string> {
  const ids = new Set<string>();
  for (const e of events) {
    if (e.outcome !== '0' || e.action !== 'R') continue;
    const interaction = e.subtype?.[0]?.code;
    if (interaction !== 'read' && interaction !== 'vread') continue;
    if (!(e.agent ?? []).some((a) => a.requestor === true && a.who?.reference === who)) continue;
    for (const entity of e.entity ?? []) {
      const match = /^Communication\/([A-Za-z0-9\-.]{1,64})(?:\/|$)/.exec(entity.what?.reference ?? '');
      if (match?.[1] !== undefined) ids.add(match[1]);
    }
  }
  return ids;
}

/** Messages addressed to `who` that they have not opened. */
export function unreadMessages(
  messages: readonly Communication[],
  events: readonly AuditEvent[],
  who: string,
  isCareTeam: boolean,
): Communication[] {
  const read = readMessageIds(events, who);
  return messages.filter((m) => isAddressedTo(m, who, isCareTeam) && !read.has(m.id ?? ''));
}
