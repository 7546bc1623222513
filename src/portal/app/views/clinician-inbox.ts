/**
 * The care team's side of messaging and visit requests (issue 22, "Messaging the care team",
 * "appointment requests"): on the worklist, each patient's message that has no reply yet, answered with a
 * FHIR Communication `inResponseTo` it, and each requested visit (an Appointment with status `proposed`),
 * booked at a time (`booked`, with start and end, R4 invariant app-3) or declined with a reason
 * (`cancelled`, `cancelationReason`). Every write goes through the vault: checked, audited, versioned.
 */
import { errorText, getJson, searchAll, sendJson } from '../api.js';
import { field, formatDate, formatDateTime, h, message, replace } from '../dom.js';
import { session } from '../session.js';
import { nameOf, type Patient } from './clinician-search.js';

interface Appointment {
  resourceType: 'Appointment';
  id: string;
  status: string;
  description?: string;
  created?: string;
  requestedPeriod?: { start?: string }[];
  participant?: { actor?: { reference?: string }; status?: string; required?: string }[];
  meta?: { versionId?: string };
}

interface Communication {
  id: string;
  sent?: string;
  subject?: { reference?: string };
  sender?: { reference?: string };
  inResponseTo?: { reference?: string }[];
  payload?: { contentString?: string }[];
}

const VISIT_MINUTES = 30;

const patientOf = (a: Appointment) =>
  a.participant?.find((p) => p.actor?.reference?.startsWith('Patient/') === true)?.actor?.reference;

/** Messages from patients that nobody has answered yet, oldest first. */
export function unanswered(messages: readonly Communication[]): Communication[] {
  const answered = new Set(
    messages.flatMap((m) => (m.inResponseTo ?? []).map((r) => r.reference?.replace(/^Communication\//, ''))),
  );
  return messages
    .filter((m) => m.sender?.reference?.startsWith('Patient/') === true && !answered.has(m.id))
    .sort((a, b) => (a.sent ?? '').localeCompare(b.sent ?? ''));
}

/** The worklist's sections for visit requests and unanswered messages; `done` redraws the page. */
export async function careTeamInbox(done: (said: string) => Promise<void>): Promise<HTMLElement[]> {
  const [visits, messages] = await Promise.all([
    searchAll<Appointment>('/fhir/Appointment?status=proposed&_count=100', {}, 2).catch(() => []),
    searchAll<Communication>('/fhir/Communication?_count=100', {}, 3).catch(() => []),
  ]);
  const waiting = unanswered(messages);
  const names = new Map<string, string>();
  await Promise.all(
    [...new Set([...visits.map(patientOf), ...waiting.map((m) => m.subject?.reference)])]
      .filter((ref): ref is string => ref !== undefined)
      .map(async (ref) => {
        const p = await getJson<Patient>(`/fhir/${ref}`).catch(() => undefined);
        names.set(ref, p === undefined ? 'a patient' : nameOf(p));
      }),
  );
  const who = (ref: string | undefined) => names.get(ref ?? '') ?? 'a patient';
  return [
    h('h2', { id: 'visits-h' }, 'Visit requests'),
    visits.length === 0
      ? message('ok', 'No visit requests are waiting.')
      : h(
          'ul',
          { class: 'cards', id: 'visit-requests' },
          visits.map((a) => visitCard(a, who(patientOf(a)), done)),
        ),
    h('h2', { id: 'messages-h' }, 'Messages from patients'),
    waiting.length === 0
      ? message('ok', 'Every message has a reply.')
      : h(
          'ul',
          { class: 'cards', id: 'patient-messages' },
          waiting.map((m) => messageCard(m, who(m.subject?.reference), done)),
        ),
  ];
}

function visitCard(a: Appointment, patient: string, done: (said: string) => Promise<void>): HTMLElement {
  const preferred = a.requestedPeriod?.[0]?.start;
  const start = h('input', { type: 'datetime-local', id: `visit-start-${a.id}` });
  if (preferred !== undefined) start.value = preferred.slice(0, 16);
  const note = h('textarea', { rows: 2, maxlength: 1000, id: `visit-note-${a.id}` });
  const out = h('div', {});
  const decide = (book: boolean) => async () => {
    const when = new Date(start.value);
    if (book && (start.value === '' || Number.isNaN(when.getTime()) || when.getTime() <= Date.now())) {
      start.setAttribute('aria-invalid', 'true');
      replace(out, message('error', 'Choose a date and time in the future for the visit.'));
      start.focus();
      return;
    }
    if (!book && note.value.trim().length < 10) {
      note.setAttribute('aria-invalid', 'true');
      replace(out, message('error', 'Tell the patient why, in at least 10 characters.'));
      note.focus();
      return;
    }
    try {
      const path = `/fhir/Appointment/${encodeURIComponent(a.id)}`;
      const { meta, ...current } = await getJson<Appointment>(path);
      const me = session()?.fhirUser ?? '';
      const next = book
        ? {
            ...current,
            status: 'booked',
            start: when.toISOString(),
            end: new Date(when.getTime() + VISIT_MINUTES * 60_000).toISOString(),
            participant: [
              ...(current.participant ?? []).filter((p) => p.actor?.reference !== me),
              { actor: { reference: me }, status: 'accepted', required: 'required' },
            ],
            ...(note.value.trim() === '' ? {} : { comment: note.value.trim() }),
          }
        : { ...current, status: 'cancelled', cancelationReason: { text: note.value.trim() } };
      await sendJson(path, next, {
        method: 'PUT',
        headers: meta?.versionId === undefined ? {} : { 'if-match': `W/"${meta.versionId}"` },
      });
      await done(
        book
          ? `${patient}: visit booked for ${formatDateTime(when.toISOString())}.`
          : `${patient}: visit request declined.`,
      );
    } catch (error) {
      replace(out, message('error', `Not saved: ${errorText(error)}`));
    }
  };
  return h(
    'li',
    { class: 'card', 'data-kind': 'visit-request', 'data-appointment-id': a.id },
    h('h3', {}, `Visit request from ${patient}`),
    h(
      'p',
      { class: 'meta' },
      `Asked on ${formatDate(a.created)}`,
      preferred === undefined ? '' : ` · prefers ${formatDateTime(preferred)}`,
    ),
    a.description === undefined ? null : h('blockquote', {}, a.description),
    field('Date and time of the visit', start, `${VISIT_MINUTES} minutes, with you.`),
    field('Note for the patient', note, 'Required when you decline; the patient reads it.'),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', class: 'primary', onclick: decide(true) }, 'Book the visit'),
      h('button', { type: 'button', class: 'danger', onclick: decide(false) }, 'Decline the visit'),
    ),
    out,
  );
}

function messageCard(m: Communication, patient: string, done: (said: string) => Promise<void>): HTMLElement {
  const reply = h('textarea', { rows: 3, maxlength: 4000, id: `reply-${m.id}` });
  const out = h('div', {});
  return h(
    'li',
    { class: 'card', 'data-kind': 'patient-message', 'data-message-id': m.id },
    h('h3', {}, `Message from ${patient}`),
    h('p', { class: 'meta' }, `Sent ${formatDateTime(m.sent)}`),
    h('blockquote', {}, m.payload?.map((p) => p.contentString ?? '').join(' ') ?? ''),
    field('Your reply', reply),
    h(
      'button',
      {
        type: 'button',
        class: 'primary',
        onclick: async () => {
          if (reply.value.trim() === '') {
            reply.setAttribute('aria-invalid', 'true');
            replace(out, message('error', 'Write the reply before sending it.'));
            reply.focus();
            return;
          }
          const me = session()?.fhirUser ?? '';
          try {
            await sendJson('/fhir/Communication', {
              resourceType: 'Communication',
              status: 'completed',
              subject: m.subject,
              sender: { reference: me },
              recipient: [{ reference: m.subject?.reference ?? m.sender?.reference ?? '' }],
              inResponseTo: [{ reference: `Communication/${m.id}` }],
              sent: new Date().toISOString(),
              payload: [{ contentString: reply.value.trim() }],
            });
            await done(`${patient}: reply sent.`);
          } catch (error) {
            replace(out, message('error', `Not sent: ${errorText(error)}`));
          }
        },
      },
      'Send the reply',
    ),
    out,
  );
}
