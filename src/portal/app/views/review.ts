/**
 * The privacy officer's review queue: every break-glass session still without its review, each with
 * the clinician's stated reason and what they opened under it (issue 22), from the patient's sealed
 * AuditEvents, which the privacy officer may read.
 */
import { errorText, getJson, searchAll, sendJson } from '../api.js';
import {
  type BreakGlassSession,
  breakGlassReason,
  type EmergencyAccess,
  emergencyAccesses,
  type ReviewAuditEvent,
} from '../break-glass-session.js';
import { announce, field, formatDateTime, h, message, replace, uid } from '../dom.js';
import { loadDirectory, withPractitionerNames } from '../people.js';
import { openedWords, outcomeWords } from '../review-words.js';
import { type PersonDirectory, personName } from '../words.js';

/** The newest reviewed sessions the table shows (each a read of its patient's name, audited). */
const REVIEWED_SHOWN = 20;

interface SessionDetails {
  readonly reason: string | undefined;
  readonly opened: readonly EmergencyAccess[] | undefined;
  readonly patientName: string | undefined;
}

/**
 * The patient's name, read once per patient and page (45 CFR 164.530(a): the privacy officer reads the
 * demographics that say whom a reviewed access concerns; each read is in the patient's access history).
 */
function patientNames(): (patientId: string) => Promise<string | undefined> {
  const cache = new Map<string, Promise<string | undefined>>();
  return (patientId) => {
    let name = cache.get(patientId);
    if (name === undefined) {
      name = getJson<{ name?: { given?: string[]; family?: string; text?: string }[] }>(
        `/fhir/Patient/${encodeURIComponent(patientId)}`,
        { headers: { 'x-careledger-purpose': 'HOPERAT' } },
      )
        .then((patient) => {
          const first = patient.name?.[0];
          if (first === undefined) return undefined;
          return (
            first.text ?? ([...(first.given ?? []), first.family].filter(Boolean).join(' ') || undefined)
          );
        })
        .catch(() => undefined);
      cache.set(patientId, name);
    }
    return name;
  };
}

async function loadDetails(
  s: BreakGlassSession,
  nameOf: (patientId: string) => Promise<string | undefined>,
): Promise<SessionDetails> {
  const [opening, events, patientName] = await Promise.all([
    s.auditEventId === undefined
      ? Promise.resolve(undefined)
      : getJson<ReviewAuditEvent>(`/fhir/AuditEvent/${encodeURIComponent(s.auditEventId)}`).catch(
          () => undefined,
        ),
    searchAll<ReviewAuditEvent>(
      `/fhir/AuditEvent?patient=${encodeURIComponent(s.patientId)}&_count=100`,
    ).catch(() => undefined),
    nameOf(s.patientId),
  ]);
  return {
    reason: breakGlassReason(opening),
    opened: events === undefined ? undefined : emergencyAccesses(s, events),
    patientName,
  };
}

/** What the clinician said and what they opened, on the review card. */
function detailsView(s: BreakGlassSession, details: SessionDetails): HTMLElement[] {
  return [
    h(
      'div',
      { class: 'bg-reason' },
      h('h3', {}, 'Reason given'),
      details.reason === undefined
        ? message('error', 'The reason could not be read from the audit record.')
        : h('blockquote', {}, details.reason),
    ),
    h(
      'div',
      { class: 'bg-opened' },
      h('h3', {}, 'What was opened'),
      details.opened === undefined
        ? message('error', 'The audit records of this patient could not be read.')
        : details.opened.length === 0
          ? h('p', {}, 'Nothing was opened under this emergency access.')
          : h(
              'ul',
              { class: 'bg-accesses' },
              details.opened.map((a) =>
                h(
                  'li',
                  {},
                  `${formatDateTime(a.when)}: ${openedWords(a, s.patientId, details.patientName)}`,
                  a.allowed ? null : h('span', { class: 'badge badge-bad' }, ' refused'),
                ),
              ),
            ),
    ),
  ];
}

export async function renderReview(main: HTMLElement): Promise<void> {
  const { sessions } = await getJson<{ sessions: BreakGlassSession[] }>('/break-glass');
  const now = Date.now();
  const open = sessions.filter((s) => s.review === undefined);
  const done = sessions
    .filter((s) => s.review !== undefined)
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  const shown = done.slice(0, REVIEWED_SHOWN);
  const nameOf = patientNames();
  const [directory, details, doneNames] = await Promise.all([
    loadDirectory()
      .then((d) =>
        withPractitionerNames(
          d,
          sessions.map((s) => s.who),
        ),
      )
      .catch((): PersonDirectory | undefined => undefined),
    Promise.all(open.map((s) => loadDetails(s, nameOf))),
    Promise.all(shown.map((s) => nameOf(s.patientId))),
  ]);
  const who = (reference: string) => (directory === undefined ? reference : personName(reference, directory));
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Review queue'),
    h(
      'p',
      {},
      'Every emergency (break-glass) access needs a review. Sessions whose window has ended are overdue.',
    ),
    open.length === 0
      ? message('ok', 'Nothing to review.')
      : h(
          'ul',
          { class: 'cards', id: 'review-list' },
          open.map((s, index) => {
            const outcome = uid('outcome');
            const note = h('textarea', { required: true, maxlength: 2000 });
            const out = h('div', {});
            const ended = Date.parse(s.expiresAt) <= now;
            return h(
              'li',
              { class: 'card', 'data-session-id': s.id },
              h(
                'h2',
                {},
                `${who(s.who)} → ${details[index]?.patientName ?? 'a patient whose name could not be read'}`,
              ),
              h(
                'p',
                { class: 'meta' },
                `From ${formatDateTime(s.startedAt)} to ${formatDateTime(s.expiresAt)} · `,
                h(
                  'span',
                  { class: `badge ${ended ? 'badge-bad' : 'badge-muted'}` },
                  ended ? 'window ended, review due' : 'window still open',
                ),
              ),
              details[index] === undefined ? null : detailsView(s, details[index] as SessionDetails),
              h(
                'form',
                {
                  onsubmit: async (event: Event) => {
                    event.preventDefault();
                    const chosen = (event.target as HTMLFormElement).querySelector<HTMLInputElement>(
                      `input[name=${outcome}]:checked`,
                    )?.value;
                    if (chosen === undefined) return replace(out, message('error', 'Choose an outcome.'));
                    try {
                      await sendJson(
                        `/break-glass/${encodeURIComponent(s.id)}/review`,
                        { outcome: chosen, note: note.value },
                        { fhir: false },
                      );
                      const said = `Review recorded: the emergency access by ${who(s.who)} to the record of ${details[index]?.patientName ?? 'the patient'} was ${outcomeWords(chosen).toLowerCase()}.`;
                      await renderReview(main);
                      // Focus stays where the person was: on the result, where the card they finished stood.
                      const status = document.getElementById('review-status');
                      if (status !== null) {
                        replace(status, message('ok', said));
                        status.focus();
                      }
                      announce(said);
                    } catch (error) {
                      replace(out, message('error', errorText(error)));
                    }
                  },
                },
                h(
                  'fieldset',
                  {},
                  h('legend', {}, 'Outcome'),
                  h(
                    'div',
                    { class: 'checks' },
                    h(
                      'label',
                      {},
                      h('input', { type: 'radio', name: outcome, value: 'justified' }),
                      'Justified',
                    ),
                    h(
                      'label',
                      {},
                      h('input', { type: 'radio', name: outcome, value: 'not-justified' }),
                      'Not justified',
                    ),
                  ),
                ),
                field('Review note', note),
                h('button', { type: 'submit', class: 'primary' }, 'Record review'),
                out,
              ),
            );
          }),
        ),
    h('div', { id: 'review-status', tabindex: '-1' }),
    done.length === 0
      ? null
      : [
          h('h2', {}, 'Reviewed'),
          done.length > shown.length
            ? h(
                'p',
                { class: 'hint' },
                `The ${shown.length} most recent of ${done.length} reviewed sessions.`,
              )
            : null,
          h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'stack', id: 'reviewed-table' },
              h('caption', {}, 'Reviewed sessions'),
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['Clinician', 'Patient', 'Started', 'Outcome', 'Reviewed'].map((x) =>
                    h('th', { scope: 'col' }, x),
                  ),
                ),
              ),
              h(
                'tbody',
                {},
                shown.map((s, index) =>
                  h(
                    'tr',
                    {},
                    h('td', { 'data-label': 'Clinician' }, who(s.who)),
                    h(
                      'td',
                      { 'data-label': 'Patient' },
                      doneNames[index] ?? 'a patient whose name could not be read',
                    ),
                    h('td', { 'data-label': 'Started' }, formatDateTime(s.startedAt)),
                    h('td', { 'data-label': 'Outcome' }, outcomeWords(s.review?.outcome)),
                    h('td', { 'data-label': 'Reviewed' }, formatDateTime(s.review?.reviewedAt)),
                  ),
                ),
              ),
            ),
          ),
        ],
  );
}
