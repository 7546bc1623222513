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
import { type PersonDirectory, personName } from '../words.js';

/** FHIR interactions (AuditEvent.subtype) as the review card says them. */
const VERBS: Record<string, string> = {
  read: 'read',
  vread: 'read a version of',
  'history-instance': 'read the history of',
  'search-type': 'searched',
  operation: 'ran',
  create: 'created',
  update: 'updated',
  patch: 'changed',
  delete: 'deleted',
};

interface SessionDetails {
  readonly reason: string | undefined;
  readonly opened: readonly EmergencyAccess[] | undefined;
  readonly patientName: string | undefined;
}

async function loadDetails(s: BreakGlassSession): Promise<SessionDetails> {
  const [opening, events, patient] = await Promise.all([
    s.auditEventId === undefined
      ? Promise.resolve(undefined)
      : getJson<ReviewAuditEvent>(`/fhir/AuditEvent/${encodeURIComponent(s.auditEventId)}`).catch(
          () => undefined,
        ),
    searchAll<ReviewAuditEvent>(
      `/fhir/AuditEvent?patient=${encodeURIComponent(s.patientId)}&_count=100`,
    ).catch(() => undefined),
    getJson<{ name?: { given?: string[]; family?: string; text?: string }[] }>(
      `/fhir/Patient/${encodeURIComponent(s.patientId)}`,
      { headers: { 'x-careledger-purpose': 'HOPERAT' } },
    ).catch(() => undefined),
  ]);
  const name = patient?.name?.[0];
  const patientName =
    name === undefined
      ? undefined
      : (name.text ?? ([...(name.given ?? []), name.family].filter(Boolean).join(' ') || undefined));
  return {
    reason: breakGlassReason(opening),
    opened: events === undefined ? undefined : emergencyAccesses(s, events),
    patientName,
  };
}

/** What the clinician said and what they opened, on the review card. */
function detailsView(details: SessionDetails): HTMLElement[] {
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
                  `${formatDateTime(a.when)}: ${VERBS[a.interaction] ?? a.interaction} ${a.what || 'the record'}`,
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
  const done = sessions.filter((s) => s.review !== undefined);
  const [directory, details] = await Promise.all([
    loadDirectory()
      .then((d) =>
        withPractitionerNames(
          d,
          sessions.map((s) => s.who),
        ),
      )
      .catch((): PersonDirectory | undefined => undefined),
    Promise.all(open.map(loadDetails)),
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
              h('h2', {}, `${who(s.who)} → ${details[index]?.patientName ?? `Patient/${s.patientId}`}`),
              h(
                'p',
                { class: 'meta' },
                `From ${formatDateTime(s.startedAt)} to ${formatDateTime(s.expiresAt)} · `,
                h(
                  'span',
                  { class: `badge ${ended ? 'badge-bad' : 'badge-muted'}` },
                  ended ? 'window ended, review due' : 'window still open',
                ),
                ` · ${s.who} · AuditEvent/${s.auditEventId}`,
              ),
              details[index] === undefined ? null : detailsView(details[index] as SessionDetails),
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
                      announce('Review recorded.');
                      await renderReview(main);
                      const list = document.getElementById('review-status');
                      if (list !== null) replace(list, message('ok', `Review of session ${s.id} recorded.`));
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
    h('div', { id: 'review-status' }),
    done.length === 0
      ? null
      : [
          h('h2', {}, 'Reviewed'),
          h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              {},
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
                done.map((s) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, who(s.who)),
                    h('td', {}, `Patient/${s.patientId}`),
                    h('td', {}, formatDateTime(s.startedAt)),
                    h('td', {}, s.review?.outcome ?? ''),
                    h('td', {}, formatDateTime(s.review?.reviewedAt)),
                  ),
                ),
              ),
            ),
          ),
        ],
  );
}
