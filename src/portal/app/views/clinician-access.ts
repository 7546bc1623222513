/**
 * The chart's access section: a request for access sent to the patient, and break-glass with its reason
 * and a fresh one-time code; reads inside an open break-glass window go with purpose ETREAT.
 */
import { errorText, sendJson } from '../api.js';
import { announce, field, h, message, replace } from '../dom.js';
import { showFieldErrors } from '../field-errors.js';
import { checkBreakGlass } from '../form-checks.js';

/** Break-glass windows this clinician opened in this tab: reads in them go with purpose ETREAT. */
export const emergency = new Map<string, string>();

export function purposeHeaders(patient: string): Record<string, string> {
  const until = emergency.get(patient);
  return until !== undefined && Date.parse(until) > Date.now() ? { 'x-careledger-purpose': 'ETREAT' } : {};
}

export function accessRequestForm(patientId: string): HTMLElement {
  const purpose = h(
    'select',
    { id: 'request-purpose' },
    [
      ['TREAT', 'Treatment'],
      ['HPAYMT', 'Payment'],
      ['HOPERAT', 'Healthcare operations'],
    ].map(([v, l]) => h('option', { value: v as string }, l as string)),
  );
  const out = h('div', {});
  return h(
    'form',
    {
      class: 'card',
      id: 'access-request-form',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          await sendJson('/access-requests', { patient: patientId, purpose: purpose.value }, { fhir: false });
          replace(
            out,
            message('ok', 'Request sent. The patient is notified and can grant access from their portal.'),
          );
        } catch (error) {
          replace(out, message('error', errorText(error)));
        }
      },
    },
    h('h3', {}, 'Ask the patient for access'),
    h(
      'p',
      { class: 'hint' },
      'For records the patient must grant (sensitive categories, or records held by other members).',
    ),
    field('Purpose', purpose),
    h('button', { type: 'submit' }, 'Send request to the patient'),
    out,
  );
}

export function breakGlassForm(patientId: string, done: () => Promise<void>): HTMLElement {
  const reason = h('textarea', { id: 'bg-reason', required: true, minlength: 10, maxlength: 1000 });
  const totp = h('input', {
    type: 'text',
    id: 'bg-totp',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6,8}',
    required: true,
  });
  const out = h('div', { id: 'bg-result' });
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'card',
      id: 'break-glass-form',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const problems = checkBreakGlass({ reason: reason.value, code: totp.value });
        showFieldErrors(form, problems, { reason, code: totp });
        if (problems.length > 0) {
          replace(out);
          return;
        }
        try {
          const answer = await sendJson<{ parameter?: { name: string; valueInstant?: string }[] }>(
            `/fhir/Patient/${encodeURIComponent(patientId)}/$break-glass`,
            { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: reason.value.trim() }] },
            { headers: { 'x-careledger-purpose': 'ETREAT', 'x-careledger-totp': totp.value.trim() } },
          );
          const end = answer.parameter?.find((p) => p.name === 'end')?.valueInstant ?? '';
          emergency.set(patientId, end);
          totp.value = '';
          await done();
          announce('Emergency access is open.');
        } catch (error) {
          replace(out, message('error', `Emergency access refused: ${errorText(error)}`));
        }
      },
    },
    h('h3', {}, 'Emergency access (break-glass)'),
    h(
      'p',
      { class: 'hint' },
      'Only in an emergency. Access opens for 60 minutes; the patient and the privacy officer are notified and the privacy officer reviews it.',
    ),
    field('Reason', reason, 'At least 10 characters: what the emergency is and why you need the record.'),
    field('One-time code from your authenticator app', totp),
    h('button', { type: 'submit', class: 'danger' }, 'Open emergency access'),
    out,
  );
  return form;
}
