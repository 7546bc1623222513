/** The privacy officer's review queue: every break-glass session still without its review. */
import { errorText, getJson, sendJson } from '../api.js';
import type { BreakGlassSession } from '../break-glass-session.js';
import { announce, field, formatDateTime, h, message, replace, uid } from '../dom.js';

export async function renderReview(main: HTMLElement): Promise<void> {
  const { sessions } = await getJson<{ sessions: BreakGlassSession[] }>('/break-glass');
  const now = Date.now();
  const open = sessions.filter((s) => s.review === undefined);
  const done = sessions.filter((s) => s.review !== undefined);
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
          open.map((s) => {
            const outcome = uid('outcome');
            const note = h('textarea', { required: true, maxlength: 2000 });
            const out = h('div', {});
            const ended = Date.parse(s.expiresAt) <= now;
            return h(
              'li',
              { class: 'card', 'data-session-id': s.id },
              h('h2', {}, `${s.who} → Patient/${s.patientId}`),
              h(
                'p',
                { class: 'meta' },
                `From ${formatDateTime(s.startedAt)} to ${formatDateTime(s.expiresAt)} · `,
                h(
                  'span',
                  { class: `badge ${ended ? 'badge-bad' : 'badge-muted'}` },
                  ended ? 'window ended, review due' : 'window still open',
                ),
                ` · AuditEvent/${s.auditEventId}`,
              ),
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
                    h('td', {}, s.who),
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
