/**
 * The patient's telehealth shares (issue 22, decision 0030): share chosen kinds of record for some
 * hours with a clinician outside the consortium, see the link and one-time code once, see when each
 * share was opened and read, and revoke it.
 */

import { DATA_CATEGORIES, type DataCategory } from '../../../ledger/codes.js';
import { errorText, getJson, searchAll, sendJson } from '../api.js';
import { categoryHint } from '../category-words.js';
import { confirmInline } from '../confirm.js';
import { announce, field, formatDateTime, h, message, replace } from '../dom.js';
import { showFieldErrors } from '../field-errors.js';
import type { FieldProblem } from '../form-checks.js';
import { patientId, session } from '../session.js';
import {
  openedWords,
  periodWords,
  SHARE_HOURS,
  SHARE_STATE_WORDS,
  type ShareView,
  shareState,
} from '../share-words.js';
import { categoryNames, listWords } from '../words.js';

const SHARE_AGENT_PREFIX = 'urn:careledger:telehealth-share:';
/** What a summary for a visit needs; the patient changes it as they like. */
const DEFAULT_CATEGORIES = ['demographics', 'conditions', 'medications', 'allergies', 'immunizations'];

interface AuditEvent {
  recorded?: string;
  outcome?: string;
  agent?: { who?: { reference?: string } }[];
  entity?: { what?: { reference?: string } }[];
}

interface CreatedShare {
  share: ShareView;
  link: string;
  code: string;
}

/** Reads made through each share, from the patient's own audit trail: share id → events. */
function readsByShare(events: readonly AuditEvent[]): Map<string, AuditEvent[]> {
  const out = new Map<string, AuditEvent[]>();
  for (const e of events) {
    const ref = e.agent?.find((a) => a.who?.reference?.startsWith(SHARE_AGENT_PREFIX))?.who?.reference;
    if (ref === undefined || e.outcome !== '0') continue;
    const id = ref.slice(SHARE_AGENT_PREFIX.length);
    out.set(id, [...(out.get(id) ?? []), e]);
  }
  return out;
}

function readWhat(e: AuditEvent): string {
  const types = (e.entity ?? [])
    .map((x) => x.what?.reference?.split('/')[0] ?? '')
    .filter((t) => t !== '' && t !== 'Patient');
  return types.length === 0 ? 'the shared records' : listWords([...new Set(types)]);
}

function shareCard(share: ShareView, reads: readonly AuditEvent[], onRevoke: (s: ShareView) => void) {
  const state = shareState(share, new Date());
  const sorted = [...reads].sort((a, b) => (b.recorded ?? '').localeCompare(a.recorded ?? ''));
  return h(
    'li',
    { class: 'card', 'data-share-id': share.id, 'data-state': state },
    h('h3', {}, `With ${share.recipient}`),
    h(
      'p',
      {},
      h(
        'span',
        { class: `badge ${state === 'active' ? 'badge-ok' : 'badge-muted'}` },
        SHARE_STATE_WORDS[state],
      ),
      ` ${periodWords(share, new Date())}`,
    ),
    h('p', {}, `Shares your ${listWords(categoryNames(share.categories)).toLowerCase()}.`),
    h('p', { class: 'meta' }, `Why: ${share.purposeText} · created ${formatDateTime(share.createdAt)}`),
    h('p', { class: 'share-opened' }, `${openedWords(share)}.`),
    sorted.length === 0
      ? null
      : h(
          'details',
          {},
          h('summary', {}, `Read ${sorted.length} time${sorted.length === 1 ? '' : 's'} through this share`),
          h(
            'ul',
            { class: 'share-reads' },
            sorted.map((e) => h('li', {}, `${formatDateTime(e.recorded)}: ${readWhat(e)}`)),
          ),
        ),
    state === 'active'
      ? h(
          'button',
          { type: 'button', class: 'danger', id: `revoke-${share.id}`, onclick: () => onRevoke(share) },
          `Revoke the share with ${share.recipient}`,
        )
      : null,
  );
}

/** The link and code, shown once: the node keeps only their hashes. */
function createdView(created: CreatedShare): HTMLElement {
  const link = h('input', { type: 'text', id: 'share-link', readonly: true, value: created.link });
  const copied = h('span', { class: 'meta', role: 'status' });
  return h(
    'div',
    { class: 'card', id: 'share-created', tabindex: '-1' },
    h('h3', {}, `Give these to ${created.share.recipient}`),
    message(
      'info',
      'They are shown only this once. Send the link, and give the code separately (read it out on the phone or in the visit). The code works once.',
    ),
    field('Link', link),
    h(
      'p',
      {},
      h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            link.select();
            try {
              await navigator.clipboard.writeText(created.link);
              copied.textContent = ' Link copied.';
            } catch {
              copied.textContent = ' Select the link and copy it.';
            }
          },
        },
        'Copy the link',
      ),
      copied,
    ),
    h('p', {}, 'One-time code: ', h('strong', { class: 'share-code', id: 'share-code' }, created.code)),
  );
}

export async function renderTelehealth(main: HTMLElement): Promise<void> {
  const me = patientId(session());
  const list = h('div', { id: 'share-list' });
  const confirmHost = h('div', {});
  const status = h('div', { id: 'share-status', 'aria-live': 'polite' });

  const drawList = async (): Promise<void> => {
    const [{ shares }, events] = await Promise.all([
      getJson<{ shares: ShareView[] }>('/shares'),
      searchAll<AuditEvent>(`/fhir/AuditEvent?patient=${encodeURIComponent(me)}&_count=100`).catch(() => []),
    ]);
    const reads = readsByShare(events);
    const sorted = [...shares].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    replace(
      list,
      sorted.length === 0
        ? h('p', {}, 'You have not shared your record this way yet.')
        : h(
            'ul',
            { class: 'cards', id: 'shares' },
            sorted.map((s) => shareCard(s, reads.get(s.id) ?? [], (x) => void revoke(x))),
          ),
    );
  };

  const revoke = async (share: ShareView): Promise<void> => {
    const yes = await confirmInline(confirmHost, {
      title: `Revoke the share with ${share.recipient}?`,
      paragraphs: [
        'The link and code stop working at once, also in a viewing that is already open.',
        'What they have already read or downloaded (such as the summary) stays with them.',
      ],
      confirmLabel: 'Revoke',
      danger: true,
    });
    if (!yes) return;
    try {
      await sendJson(`/shares/${encodeURIComponent(share.id)}/revoke`, {}, { fhir: false });
      await drawList();
      replace(status, message('ok', `The share with ${share.recipient} is revoked.`));
      status.setAttribute('tabindex', '-1');
      status.focus();
      announce(`The share with ${share.recipient} is revoked.`);
    } catch (error) {
      replace(status, message('error', errorText(error)));
    }
  };

  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Telehealth shares'),
    h(
      'p',
      {},
      'Let a clinician outside the consortium (a video visit, a second opinion, care abroad) read chosen parts of your record for a few hours. They get a link and a one-time code, no account. Every read is recorded in your access history with its proof, and you can revoke the share at any time.',
    ),
    shareForm(async (created) => {
      await drawList();
      const view = createdView(created);
      replace(status, view);
      view.focus();
      announce('Share created. The link and code are shown once.');
    }),
    status,
    confirmHost,
    h('h2', {}, 'Your shares'),
    list,
  );
  await drawList();
}

function shareForm(done: (created: CreatedShare) => Promise<void>): HTMLElement {
  const recipient = h('input', { type: 'text', id: 'share-recipient', autocomplete: 'off', maxlength: 120 });
  const purpose = h('input', { type: 'text', id: 'share-purpose', autocomplete: 'off', maxlength: 200 });
  const hours = h(
    'select',
    { id: 'share-hours' },
    SHARE_HOURS.map(([value, label]) => h('option', { value: String(value), selected: value === 4 }, label)),
  );
  const boxes = Object.entries(DATA_CATEGORIES).map(([code, info]) => {
    const hint = categoryHint(code as DataCategory);
    const hintId = `share-category-${code}-hint`;
    return h(
      'div',
      { class: 'check-item' },
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          name: 'share-category',
          value: code,
          checked: DEFAULT_CATEGORIES.includes(code),
          'aria-describedby': hint === '' ? undefined : hintId,
        }),
        ` ${info.display}`,
      ),
      hint === '' ? null : h('p', { class: 'hint', id: hintId }, hint),
    );
  });
  const out = h('div', { id: 'share-form-result' });
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'card',
      id: 'share-form',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const categories = [
          ...form.querySelectorAll<HTMLInputElement>('input[name=share-category]:checked'),
        ].map((b) => b.value);
        // What to fix, beside each field, focus on the first (WCAG 3.3.1); the kinds of record have no
        // one field: said under the form, focus on the first box.
        const problems: FieldProblem[] = [
          ...(recipient.value.trim() === ''
            ? [{ field: 'recipient', message: 'Name the clinician you share with.' }]
            : []),
          ...(purpose.value.trim().length < 3
            ? [{ field: 'purpose', message: 'Say why you share (at least 3 characters).' }]
            : []),
          ...(categories.length === 0
            ? [{ field: 'categories', message: 'Choose at least one kind of record.' }]
            : []),
        ];
        const unplaced = showFieldErrors(form, problems, { recipient, purpose });
        replace(
          out,
          unplaced.length === 0 ? null : message('error', unplaced.map((p) => p.message).join(' ')),
        );
        if (problems.length > 0) {
          if (unplaced.length === problems.length)
            form.querySelector<HTMLInputElement>('input[name=share-category]')?.focus();
          return;
        }
        const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
        button.disabled = true;
        try {
          const created = await sendJson<CreatedShare>(
            '/shares',
            {
              recipient: recipient.value.trim(),
              purposeText: purpose.value.trim(),
              hours: Number(hours.value),
              categories,
            },
            { fhir: false },
          );
          replace(out);
          recipient.value = '';
          purpose.value = '';
          await done(created);
        } catch (error) {
          replace(out, message('error', `Not shared: ${errorText(error)}`));
        } finally {
          button.disabled = false;
        }
      },
    },
    h('h2', {}, 'Share with a clinician'),
    field('Clinician', recipient, 'Their name, for example “Dr Ana Costa, Lisbon”.'),
    field('Why', purpose, 'For example “second opinion on my diabetes treatment”.'),
    h(
      'fieldset',
      {},
      h('legend', {}, 'What they may read'),
      h(
        'p',
        { class: 'hint' },
        'Your patient summary (with its signature) needs Demographics: it names you. A record is shown only if everything it is about is chosen.',
      ),
      h('div', { class: 'checks described' }, boxes),
    ),
    field('For how long', hours, 'From now. You can revoke it earlier.'),
    h('button', { type: 'submit', class: 'primary' }, 'Create the link and code'),
    out,
  );
  return form;
}
