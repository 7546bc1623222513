/**
 * Visits and refills (issue 22): the patient's upcoming visits (Appointments), a request for a visit
 * (an Appointment with status `proposed`), and a refill request for each active prescription (a Task,
 * decision 0029), with the requests already sent and their state.
 */
import { errorText, searchAll, sendJson } from '../api.js';
import { formatDate, formatDateTime, h, message } from '../dom.js';
import { conceptWords } from '../record-summary.js';
import { patientId, session } from '../session.js';

interface Appointment {
  id: string;
  status: string;
  start?: string;
  description?: string;
  requestedPeriod?: { start?: string }[];
}
interface MedicationRequest {
  id: string;
  status: string;
  authoredOn?: string;
  medicationCodeableConcept?: unknown;
  dosageInstruction?: { text?: string }[];
}
interface Task {
  id: string;
  status: string;
  focus?: { reference?: string };
  code?: { coding?: { code?: string }[] };
}

const REQUEST_WORDS: Record<string, string> = {
  requested: 'refill requested',
  completed: 'refill approved',
  rejected: 'refill declined',
  cancelled: 'request withdrawn',
};

export async function renderVisits(main: HTMLElement): Promise<void> {
  const id = encodeURIComponent(patientId(session()));
  const [appointments, prescriptions, tasks] = await Promise.all([
    searchAll<Appointment>(`/fhir/Appointment?patient=${id}&_count=100`).catch(() => []),
    searchAll<MedicationRequest>(`/fhir/MedicationRequest?patient=${id}&status=active&_count=100`).catch(
      () => [],
    ),
    searchAll<Task>(`/fhir/Task?patient=${id}&_count=100`).catch(() => []),
  ]);
  const now = new Date().toISOString();
  const upcoming = appointments
    .filter((a) => (a.status === 'booked' || a.status === 'pending') && (a.start ?? '') >= now)
    .sort((a, b) => (a.start ?? '').localeCompare(b.start ?? ''));
  const proposed = appointments.filter((a) => a.status === 'proposed');
  const refills = new Map(
    tasks
      .filter((t) => t.code?.coding?.some((c) => c.code === 'refill-request'))
      .map((t) => [t.focus?.reference ?? '', t]),
  );
  const status = h('div', { 'aria-live': 'polite' });
  const reason = h('textarea', { id: 'visit-reason', rows: 2, maxlength: 4000, required: true });
  const when = h('input', { id: 'visit-start', type: 'datetime-local' });

  const form = h(
    'form',
    {
      // Our own words beside the form, not the browser's bubble (issue 22 item 3).
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        reason.removeAttribute('aria-invalid');
        when.removeAttribute('aria-invalid');
        if (reason.value.trim() === '') {
          reason.setAttribute('aria-invalid', 'true');
          status.replaceChildren(message('error', 'Say what the visit is for.'));
          reason.focus();
          return;
        }
        const start = when.value === '' ? undefined : new Date(when.value).toISOString();
        if (start !== undefined && start <= new Date().toISOString()) {
          when.setAttribute('aria-invalid', 'true');
          status.replaceChildren(message('error', 'Choose a time in the future, or leave it empty.'));
          when.focus();
          return;
        }
        try {
          await sendJson(
            '/patient-rights/appointments',
            { reason: reason.value, ...(start ? { start } : {}) },
            { fhir: false },
          );
          await renderVisits(main);
          main.querySelector<HTMLElement>('[data-testid="proposed-visits"]')?.focus();
        } catch (error) {
          status.replaceChildren(message('error', errorText(error)));
        }
      },
    },
    h('h2', {}, 'Ask for a visit'),
    h('div', { class: 'field' }, h('label', { for: 'visit-reason' }, 'What is it for?'), reason),
    h('div', { class: 'field' }, h('label', { for: 'visit-start' }, 'Preferred time (optional)'), when),
    h('button', { type: 'submit' }, 'Send the request'),
    status,
  );

  const refillButton = (rx: MedicationRequest): HTMLElement => {
    const done = h('span', { 'aria-live': 'polite' });
    const existing = refills.get(`MedicationRequest/${rx.id}`);
    if (existing !== undefined)
      return h('span', { 'data-testid': 'refill-state' }, REQUEST_WORDS[existing.status] ?? existing.status);
    return h(
      'span',
      {},
      h(
        'button',
        {
          type: 'button',
          onclick: async (event: Event) => {
            (event.currentTarget as HTMLButtonElement).disabled = true;
            try {
              await sendJson(
                '/patient-rights/refills',
                { medicationRequest: `MedicationRequest/${rx.id}` },
                { fhir: false },
              );
              done.replaceChildren(h('span', { 'data-testid': 'refill-state' }, 'refill requested'));
            } catch (error) {
              done.replaceChildren(message('error', errorText(error)));
            }
          },
        },
        'Request a refill',
      ),
      done,
    );
  };

  main.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Visits and refills'),
    h(
      'section',
      {},
      h('h2', {}, 'Upcoming visits'),
      upcoming.length === 0
        ? message('info', 'No visits booked.')
        : h(
            'ul',
            { class: 'cards', 'data-testid': 'upcoming-visits' },
            upcoming.map((a) =>
              h(
                'li',
                { class: 'card' },
                h('strong', {}, formatDateTime(a.start)),
                h('p', {}, a.description ?? 'Visit'),
              ),
            ),
          ),
    ),
    form,
    proposed.length === 0
      ? ''
      : h(
          'ul',
          { class: 'cards', 'data-testid': 'proposed-visits', tabindex: '-1' },
          proposed.map((a) =>
            h(
              'li',
              { class: 'card' },
              h('strong', {}, 'Requested, waiting for a time'),
              h('p', {}, a.description ?? ''),
              a.requestedPeriod?.[0]?.start
                ? h('p', { class: 'hint' }, `You asked for ${formatDateTime(a.requestedPeriod[0].start)}`)
                : null,
            ),
          ),
        ),
    h(
      'section',
      {},
      h('h2', {}, 'Your prescriptions'),
      prescriptions.length === 0
        ? message('info', 'No active prescriptions.')
        : h(
            'ul',
            { class: 'cards', 'data-testid': 'prescriptions' },
            prescriptions.map((rx) =>
              h(
                'li',
                { class: 'card' },
                h('strong', {}, conceptWords(rx.medicationCodeableConcept) || 'Prescription'),
                h(
                  'p',
                  { class: 'hint' },
                  `Prescribed ${formatDate(rx.authoredOn)}`,
                  rx.dosageInstruction?.[0]?.text ? ` — ${rx.dosageInstruction[0].text}` : '',
                ),
                refillButton(rx),
              ),
            ),
          ),
    ),
  );
}
