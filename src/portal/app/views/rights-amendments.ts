/**
 * The patient's rights, part 2 (issue 22): ask to amend a record (45 CFR 164.526), follow each
 * request's outcome (accepted: the record's new version; denied: the reason and the right to file a
 * statement of disagreement, which is sent as a message about the request).
 */

import { amendmentGroups, amendmentLabel } from '../amendment-choices.js';
import { errorText, searchAll, sendJson } from '../api.js';
import { formatDateTime, h, message } from '../dom.js';
import { patientId, session } from '../session.js';
import { renderDisclosures, renderPrintableCopy } from './rights-disclosures.js';

interface Task {
  id: string;
  status: string;
  description?: string;
  authoredOn?: string;
  lastModified?: string;
  focus?: { reference?: string };
  code?: { coding?: { code?: string }[] };
  statusReason?: { text?: string };
  note?: { text?: string }[];
}
type Res = Record<string, unknown> & { resourceType: string; id: string };

const AMENDABLE = [
  'Condition',
  'AllergyIntolerance',
  'Observation',
  'MedicationRequest',
  'Immunization',
  'Procedure',
];

const STATUS_WORDS: Record<string, string> = {
  requested: 'Waiting for your care team',
  received: 'Received by your care team',
  'in-progress': 'Being reviewed',
  completed: 'Accepted: the record was amended',
  rejected: 'Denied',
  cancelled: 'Withdrawn',
};

function requestCard(
  task: Task,
  names: Map<string, string>,
  onDisagree: (t: Task) => HTMLElement,
): HTMLElement {
  const record = names.get(task.focus?.reference ?? '') ?? 'a record';
  return h(
    'li',
    { class: 'card', 'data-testid': 'amendment-request' },
    h('strong', {}, STATUS_WORDS[task.status] ?? task.status),
    h('p', {}, `About ${record}: "${task.description ?? ''}"`),
    h('p', { class: 'hint' }, `Asked ${formatDateTime(task.authoredOn)}`),
    task.status === 'rejected'
      ? [
          h('p', {}, h('strong', {}, 'Reason: '), task.statusReason?.text ?? ''),
          h('p', { class: 'hint' }, task.note?.at(-1)?.text ?? ''),
          onDisagree(task),
        ]
      : null,
  );
}

export async function renderRights(main: HTMLElement): Promise<void> {
  const s = session();
  const id = patientId(s);
  const status = h('div', { 'aria-live': 'polite' });
  main.replaceChildren(h('h1', { tabindex: '-1' }, 'Your rights'), h('p', {}, 'Loading…'));
  const records: Res[] = [];
  for (const type of AMENDABLE) {
    records.push(
      ...(await searchAll<Res>(`/fhir/${type}?patient=${encodeURIComponent(id)}&_count=50`, {}, 2).catch(
        () => [],
      )),
    );
  }
  const names = new Map(records.map((r) => [`${r.resourceType}/${r.id}`, amendmentLabel(r)]));
  const tasks = (
    await searchAll<Task>(`/fhir/Task?patient=${encodeURIComponent(id)}&_count=100`).catch(() => [])
  ).filter((t) => t.code?.coding?.some((c) => c.code === 'amendment-request'));
  tasks.sort((a, b) => (b.authoredOn ?? '').localeCompare(a.authoredOn ?? ''));

  const select = h(
    'select',
    { id: 'amend-record', required: true },
    h('option', { value: '' }, 'Choose a record'),
    amendmentGroups(records).map((group) =>
      h(
        'optgroup',
        { label: group.label },
        group.choices.map((c) => h('option', { value: c.value }, c.label)),
      ),
    ),
  );
  const preset = decodeURIComponent(location.hash.split('/').slice(2).join('/'));
  if (preset !== '') select.value = preset;
  const reason = h('textarea', { id: 'amend-reason', required: true, rows: 3, maxlength: 4000 });
  const form = h(
    'form',
    {
      'aria-labelledby': 'amend-title',
      // Our own words beside the form, not the browser's bubble (issue 22 item 3).
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        if (select.value === '' || reason.value.trim() === '') {
          const missing = select.value === '' ? select : reason;
          missing.setAttribute('aria-invalid', 'true');
          status.replaceChildren(
            message('error', 'Choose the record and say what is wrong and what it should say.'),
          );
          missing.focus();
          return;
        }
        try {
          await sendJson(
            '/patient-rights/amendments',
            { focus: select.value, reason: reason.value },
            { fhir: false },
          );
          status.replaceChildren(
            message('ok', 'Your request was sent. Your care team must answer within 60 days.'),
          );
          await renderRights(main);
          main.querySelector<HTMLElement>('[data-testid="amendment-list"]')?.focus();
        } catch (error) {
          status.replaceChildren(message('error', errorText(error)));
        }
      },
    },
    h('h2', { id: 'amend-title' }, 'Ask to amend a record'),
    h('div', { class: 'field' }, h('label', { for: 'amend-record' }, 'Record'), select),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'amend-reason' }, 'What is wrong, and what should it say?'),
      reason,
    ),
    h('button', { type: 'submit' }, 'Send the request'),
    status,
  );

  const disagree = (task: Task): HTMLElement => {
    const text = h('textarea', { rows: 3, maxlength: 4000, 'aria-label': 'Your statement of disagreement' });
    const done = h('div', { 'aria-live': 'polite' });
    return h(
      'details',
      {},
      h('summary', {}, 'File a statement of disagreement'),
      text,
      h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            try {
              await sendJson(
                '/patient-rights/messages',
                { text: `Statement of disagreement: ${text.value}`, about: `Task/${task.id}` },
                { fhir: false },
              );
              done.replaceChildren(message('ok', 'Your statement was sent and is kept with the record.'));
            } catch (error) {
              done.replaceChildren(message('error', errorText(error)));
            }
          },
        },
        'Send the statement',
      ),
      done,
    );
  };

  main.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Your rights'),
    form,
    h(
      'section',
      { 'aria-labelledby': 'requests-title' },
      h('h2', { id: 'requests-title' }, 'Your amendment requests'),
      tasks.length === 0
        ? message('info', 'You have not asked to amend a record.')
        : h(
            'ul',
            { class: 'cards', 'data-testid': 'amendment-list', tabindex: '-1' },
            tasks.map((t) => requestCard(t, names, disagree)),
          ),
    ),
    await renderDisclosures(),
    renderPrintableCopy(),
  );
}
