/**
 * Correcting a chart entry (issue 22, "for clinicians"): a "Correct" button on each record opens a panel
 * under the list: mark it entered in error, or amend its one correctable field, always with a reason.
 * The change is a new version written with `If-Match` on the version the clinician saw (a concurrent
 * change is refused, not overwritten); the vault audits it and `_history` keeps the earlier version.
 */
import { ApiError, errorText, getJson, sendJson } from '../api.js';
import { announce, field, formatDate, h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import {
  amendableValue,
  amendKind,
  amendRecord,
  canMarkEnteredInError,
  checkCorrectionReason,
  isEnteredInError,
  markEnteredInError,
} from '../record-corrections.js';
import type { RecordRow } from '../record-rows.js';
import { session } from '../session.js';

const AMEND_LABELS = {
  value: 'Corrected value',
  dosage: 'Corrected dosage instructions',
  'note-text': 'Corrected note',
  'clinical-status': 'Clinical status',
} as const;

/** The per-row button and the panel it opens in `host`; `done` redraws the chart. */
export function correctionControls(
  host: HTMLElement,
  done: (said: string) => Promise<void>,
): (row: RecordRow) => HTMLElement | null {
  return (row) => {
    const resource = row.resource as Resource;
    if (resource.id === undefined || isEnteredInError(resource) || !canMarkEnteredInError(resource))
      return null;
    // Which of several "Body Weight" rows: the record's clinical date in words (issue 22).
    const what = `${row.title}${row.date === '' ? '' : ` of ${formatDate(row.date)}`}`;
    return h(
      'button',
      {
        type: 'button',
        class: 'small',
        'aria-label': `Correct ${what}`,
        onclick: () => correctionPanel(host, resource, what, done),
      },
      'Correct',
    );
  };
}

function amendControl(resource: Resource): HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement {
  const current = amendableValue(resource);
  switch (amendKind(resource)) {
    case 'value':
      return h('input', { type: 'text', inputmode: 'decimal', id: 'correct-value', value: current });
    case 'note-text': {
      const area = h('textarea', { id: 'correct-value', rows: 4 });
      area.value = current;
      return area;
    }
    case 'clinical-status':
      return h(
        'select',
        { id: 'correct-value' },
        ['active', 'recurrence', 'relapse', 'inactive', 'remission', 'resolved'].map((c) =>
          h('option', { value: c, selected: c === current }, c),
        ),
      );
    default:
      return h('input', { type: 'text', id: 'correct-value', value: current, autocomplete: 'off' });
  }
}

function correctionPanel(
  host: HTMLElement,
  resource: Resource,
  title: string,
  done: (said: string) => Promise<void>,
): void {
  const returnTo = document.activeElement as HTMLElement | null;
  const kind = amendKind(resource);
  const wrong = h('input', {
    type: 'radio',
    name: 'correction-kind',
    value: 'entered-in-error',
    checked: true,
  });
  const amend = h('input', { type: 'radio', name: 'correction-kind', value: 'amend' });
  const value = kind === undefined ? undefined : amendControl(resource);
  const valueField =
    value === undefined || kind === undefined
      ? null
      : field(AMEND_LABELS[kind], value, 'Only when amending.');
  const reason = h('textarea', { id: 'correct-reason', rows: 3, maxlength: 1000 });
  const out = h('div', { id: 'correct-result' });
  const close = () => {
    replace(host);
    if (returnTo?.isConnected === true) returnTo.focus();
  };
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'card',
      id: 'correction-form',
      novalidate: true,
      onkeydown: (event: Event) => {
        if ((event as KeyboardEvent).key === 'Escape') close();
      },
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const problem = checkCorrectionReason(reason.value);
        if (problem !== undefined) {
          reason.setAttribute('aria-invalid', 'true');
          replace(out, message('error', problem));
          reason.focus();
          return;
        }
        const amending = amend.checked;
        if (amending && value !== undefined && value.value.trim() === '') {
          replace(out, message('error', 'Give the corrected value.'));
          value.focus();
          return;
        }
        const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
        button.disabled = true;
        try {
          const path = `/fhir/${resource.resourceType}/${encodeURIComponent(resource.id ?? '')}`;
          // The version as it is now: the panel may have been open while someone else changed it.
          const current = await getJson<Resource & { meta?: { versionId?: string } }>(path);
          const by = { reason: reason.value, author: session()?.fhirUser ?? '', at: new Date() };
          const next =
            amending && value !== undefined
              ? amendRecord(current, value.value, by)
              : markEnteredInError(current, by);
          const saved = await sendJson<{ meta?: { versionId?: string } }>(path, next, {
            method: 'PUT',
            headers:
              current.meta?.versionId === undefined ? {} : { 'if-match': `W/"${current.meta.versionId}"` },
          });
          const said = `${title}: ${amending ? 'amended' : 'marked entered in error'} (version ${saved.meta?.versionId ?? 'new'}); the earlier version stays in its history.`;
          replace(host);
          await done(said);
          announce(said);
        } catch (error) {
          const words =
            error instanceof ApiError && error.status === 412
              ? 'Someone changed this record meanwhile: close this panel and correct it again.'
              : `Not saved: ${errorText(error)}`;
          replace(out, message('error', words));
          button.disabled = false;
        }
      },
    },
    h('h3', { id: 'correction-h', tabindex: '-1' }, `Correct: ${title}`),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Correction'),
      h(
        'div',
        { class: 'checks' },
        h('label', {}, wrong, ' Mark entered in error (it was never true of this patient)'),
        kind === undefined ? null : h('label', {}, amend, ' Amend it'),
      ),
    ),
    valueField,
    field('Reason', reason, 'At least 10 characters; kept with the new version and shown in its history.'),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit', class: 'primary' }, 'Save the correction'),
      h('button', { type: 'button', onclick: close }, 'Cancel'),
    ),
    out,
  );
  replace(host, form);
  host.scrollIntoView({ block: 'nearest' });
  (form.querySelector('#correction-h') as HTMLElement).focus();
}
