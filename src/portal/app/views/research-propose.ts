/** The proposal form of the studies page: a research member's operator proposes a study (decision 0024). */
import { keccak256, toHex } from 'viem';
import { DATA_CATEGORIES } from '../../../ledger/codes.js';
import type { Member } from '../context.js';
import { field, h, message, replace, uid } from '../dom.js';
import type { StudyView } from './research-study.js';

export type OperatorWrite = (path: string, body: unknown, success: string) => Promise<void>;

export function proposeForm(
  studies: readonly StudyView[],
  members: readonly Member[],
  isResearch: boolean,
  out: HTMLElement,
  operatorWrite: OperatorWrite,
): HTMLElement {
  const name = h('input', { type: 'text', id: 'study-name', required: true, autocomplete: 'off' });
  const title = h('input', { type: 'text', id: 'study-title', required: true, maxlength: '120' });
  const summary = h('textarea', { id: 'study-summary', rows: 3, required: true, maxlength: '2000' });
  // The Safe Harbor profile's hash, as the node describes studies under it; else paste one.
  const safeHarbor = studies.find((s) => s.patientWouldShare.form.includes('Safe Harbor'))?.profileHash ?? '';
  const profile = h('input', { type: 'text', id: 'study-profile', value: safeHarbor, autocomplete: 'off' });
  const types = h('input', { type: 'text', id: 'study-types', value: 'Patient, Condition, Observation' });
  const k = h('input', { type: 'number', id: 'study-k', value: '5', min: '2' });
  const from = h('input', { type: 'date', id: 'study-from', value: new Date().toISOString().slice(0, 10) });
  const to = h('input', {
    type: 'date',
    id: 'study-to',
    value: new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10),
  });
  const categories = h(
    'fieldset',
    {},
    h('legend', {}, 'Data categories'),
    h(
      'div',
      { class: 'checks' },
      Object.entries(DATA_CATEGORIES).map(([code, c]) => {
        const id = uid('cat');
        return h(
          'label',
          { for: id },
          h('input', {
            type: 'checkbox',
            id,
            name: 'study-category',
            value: code,
            checked: ['demographics', 'conditions'].includes(code),
          }),
          c.display,
        );
      }),
    ),
  );
  const boards = h(
    'fieldset',
    {},
    h('legend', {}, 'Ethics boards (none: the members vote)'),
    h(
      'div',
      { class: 'checks' },
      members
        .filter((m) => m.status === 'active' && m.role !== 'research')
        .map((m) => {
          const id = uid('board');
          return h(
            'label',
            { for: id },
            h('input', { type: 'checkbox', id, name: 'study-board', value: m.address }),
            m.name,
          );
        }),
    ),
  );
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'card',
      id: 'propose-study-form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const checked = (n: string) =>
          [...form.querySelectorAll<HTMLInputElement>(`input[name=${n}]:checked`)].map((b) => b.value);
        if (name.value.trim() === '' || title.value.trim() === '' || summary.value.trim() === '')
          return replace(out, message('error', 'Give the study’s protocol id, its title and its summary.'));
        if (!/^0x[0-9a-fA-F]{64}$/.test(profile.value.trim()))
          return replace(out, message('error', 'The profile hash is 0x and 64 hex digits.'));
        void operatorWrite(
          '/admin/research/studies',
          {
            id: keccak256(toHex(name.value.trim())),
            // The node keeps the document and proposes its hash (decision 0035).
            protocol: { title: title.value.trim(), summary: summary.value.trim() },
            profileHash: profile.value.trim(),
            categories: checked('study-category'),
            resourceTypes: types.value
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
            notBefore: new Date(`${from.value}T00:00:00Z`).toISOString(),
            notAfter: new Date(`${to.value}T23:59:59Z`).toISOString(),
            k: Number(k.value),
            ethicsBoards: checked('study-board'),
          },
          `Proposed the study ${name.value.trim()}.`,
        );
      },
    },
    h('h2', {}, 'Propose a study'),
    isResearch
      ? null
      : message('info', 'Only a research member may propose; the ledger refuses other members.'),
    field(
      'Protocol id',
      name,
      'Your own name for the protocol, e.g. lakeside-diabetes-2026; its hash is the study id.',
    ),
    field('Title', title, 'What patients see the study called.'),
    field(
      'Summary for patients',
      summary,
      'What the study asks and what it receives, in plain words; only the SHA-256 of title and summary goes on the ledger.',
    ),
    categories,
    field('FHIR resource types (comma-separated)', types),
    field('From', from),
    field('Until', to),
    field('Smallest group k', k),
    field(
      'De-identification profile hash',
      profile,
      'The Safe Harbor profile’s hash is filled in when a study already uses it.',
    ),
    boards,
    h('button', { type: 'submit', class: 'primary' }, 'Propose the study'),
  );
  return form;
}
