/**
 * Clinician views: patient search, the chart, forms that produce FHIR R4 (Observation with UCUM units,
 * MedicationRequest, a clinical note as DocumentReference), a request for access sent to the patient,
 * and break-glass with its reason and a fresh one-time code.
 */
import { ApiError, errorText, getJson, searchAll, sendJson } from '../api.js';
import { nodeStatus } from '../context.js';
import { announce, field, formatDate, h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import { clearFieldErrors, showFieldErrors } from '../field-errors.js';
import {
  checkBreakGlass,
  checkMedication,
  checkNote,
  checkObservation,
  type FieldProblem,
  fieldOfExpression,
  parseNumber,
  rangeText,
} from '../form-checks.js';
import { unitText } from '../quantity-format.js';
import { recordList } from '../record-list.js';
import { mergeRecords } from '../record-rows.js';
import { session } from '../session.js';
import { allergyProblemBanner } from './clinician-banner.js';

interface Patient extends Resource {
  name?: { given?: string[]; family?: string; text?: string }[];
  birthDate?: string;
  gender?: string;
  identifier?: { system?: string; value?: string }[];
}

const nameOf = (p: Patient) =>
  p.name?.[0]?.text ??
  ([p.name?.[0]?.given?.join(' '), p.name?.[0]?.family].filter(Boolean).join(' ') || 'Unnamed patient');

/** `POST /fhir/Patient/{id}/$fetch-from-members`: one line per other member holding the patient's records. */
interface MemberPullReport {
  member: string;
  name: string;
  status: 'ok' | 'refused' | 'error';
  error?: string;
  received: number;
  kept: number;
  unchanged: number;
  refused: { reference: string; reason: string; message: string }[];
  provenance?: string;
  /** What the patient's grant lets this member receive, in words (issue 22 item 1). */
  coverage?: string;
}
interface PullReport {
  patient: string;
  members: MemberPullReport[];
}

/** Break-glass windows this clinician opened in this tab: reads in them go with purpose ETREAT. */
const emergency = new Map<string, string>();

function purposeHeaders(patient: string): Record<string, string> {
  const until = emergency.get(patient);
  return until !== undefined && Date.parse(until) > Date.now() ? { 'x-careledger-purpose': 'ETREAT' } : {};
}

export async function renderPatientSearch(main: HTMLElement, query = ''): Promise<void> {
  const name = h('input', { type: 'search', id: 'search-name', autocomplete: 'off', value: query });
  const birth = h('input', { type: 'date', id: 'search-birthdate' });
  const results = h('div', { id: 'search-results', 'aria-live': 'polite' });
  const form = h(
    'form',
    {
      role: 'search',
      class: 'card',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const params = new URLSearchParams({ _count: '50' });
        if (name.value.trim() !== '') params.set('name', name.value.trim());
        if (birth.value !== '') params.set('birthdate', birth.value);
        replace(results, h('p', { class: 'meta' }, 'Searching…'));
        try {
          const found = await searchAll<Patient>(`/fhir/Patient?${params.toString()}`, {}, 1);
          replace(
            results,
            h('p', {}, `${found.length} patient${found.length === 1 ? '' : 's'} found.`),
            found.length === 0
              ? null
              : h(
                  'div',
                  { class: 'table-wrap' },
                  h(
                    'table',
                    {},
                    h('caption', {}, 'Patients'),
                    h(
                      'thead',
                      {},
                      h(
                        'tr',
                        {},
                        ['Name', 'Born', 'Gender', ''].map((x) => h('th', { scope: 'col' }, x)),
                      ),
                    ),
                    h(
                      'tbody',
                      {},
                      found.map((p) =>
                        h(
                          'tr',
                          {},
                          h('td', {}, nameOf(p)),
                          h('td', {}, p.birthDate ?? ''),
                          h('td', {}, p.gender ?? ''),
                          h(
                            'td',
                            {},
                            h(
                              'a',
                              {
                                href: `#/chart/${encodeURIComponent(p.id ?? '')}`,
                                'aria-label': `Open the chart of ${nameOf(p)}`,
                              },
                              'Open chart',
                            ),
                          ),
                        ),
                      ),
                    ),
                  ),
                ),
          );
          announce(`${found.length} patients found.`);
        } catch (error) {
          replace(results, message('error', errorText(error)));
        }
      },
    },
    field('Name', name, 'Part of a given or family name.'),
    field('Date of birth', birth),
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );
  replace(main, h('h1', { tabindex: '-1' }, 'Patients'), form, results);
}

export async function renderChart(main: HTMLElement, patientId: string): Promise<void> {
  replace(main, h('h1', { tabindex: '-1' }, 'Chart'), message('info', 'Loading the chart…'));
  let resources: Resource[] = [];
  let refused: string | undefined;
  try {
    const bundle = await getJson<{ entry?: { resource: Resource }[] }>(
      `/fhir/Patient/${encodeURIComponent(patientId)}/$everything`,
      { headers: purposeHeaders(patientId) },
    );
    resources = (bundle.entry ?? []).map((e) => e.resource);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
    refused = errorText(error);
  }
  const patient = resources.find((r) => r.resourceType === 'Patient') as Patient | undefined;
  const organization = (await nodeStatus()).organization;
  const rerender = () => renderChart(main, patientId);
  const fetchSection = fetchFromMembersSection(patientId, rerender);
  replace(
    main,
    h(
      'h1',
      { tabindex: '-1' },
      patient === undefined ? `Chart of Patient/${patientId}` : `Chart: ${nameOf(patient)}`,
    ),
    patient === undefined
      ? null
      : h(
          'p',
          { class: 'meta', id: 'patient-banner' },
          `Born ${formatDate(patient.birthDate)} · ${patient.gender ?? ''} · Patient/${patientId}`,
        ),
    refused === undefined ? allergyProblemBanner(resources) : null,
    emergency.has(patientId)
      ? message(
          'error',
          `Emergency access is open until ${new Date(emergency.get(patientId) ?? '').toLocaleTimeString()}: every access is recorded and will be reviewed.`,
        )
      : null,
    refused === undefined
      ? null
      : message(
          'error',
          `The chart was refused: ${refused}. Ask the patient for access, or use emergency access if this is an emergency.`,
        ),
    fetchSection,
    // One record list (issue 22), not a page per type: tabs, search, the member a record came from.
    resources.length === 0
      ? null
      : recordList(mergeRecords(resources.map((resource) => ({ resource, servedBy: organization }))), {
          caption: 'Records',
          search: 'Search the records',
        }).element,
    h('h2', {}, 'Record'),
    observationForm(patientId, rerender),
    medicationForm(patientId, rerender),
    noteForm(patientId, rerender),
    h('h2', {}, 'Access'),
    accessRequestForm(patientId),
    breakGlassForm(patientId, rerender),
  );
}

/**
 * The "fetch from other members" section, kept across re-renders of the chart for the same patient
 * (the live region with the last report, and the focus on its button, survive the chart's refresh).
 */
let fetchSectionOf: { patientId: string; element: HTMLElement } | undefined;

function fetchFromMembersSection(patientId: string, refresh: () => Promise<void>): HTMLElement {
  if (fetchSectionOf?.patientId === patientId) return fetchSectionOf.element;
  const out = h('div', { id: 'fetch-members-result', 'aria-live': 'polite' });
  const button: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      id: 'fetch-from-members',
      onclick: async () => {
        button.disabled = true;
        replace(out, h('p', { class: 'meta', role: 'status' }, 'Asking the other members…'));
        try {
          const report = await getJson<PullReport>(
            `/fhir/Patient/${encodeURIComponent(patientId)}/$fetch-from-members?purpose=TREAT`,
            { method: 'POST' },
          );
          replace(out, pullReportView(report));
          const kept = report.members.reduce((n, m) => n + m.kept, 0);
          announce(
            report.members.length === 0
              ? 'No other member holds records for this patient.'
              : `${report.members.map((m) => `${m.name}: ${m.status}`).join('; ')}. ${kept} record(s) kept.`,
          );
          await refresh();
          // The section is the same element after the chart is drawn again: keep the focus on its button.
          button.focus();
        } catch (error) {
          replace(out, message('error', `The request failed: ${errorText(error)}`));
        } finally {
          button.disabled = false;
        }
      },
    },
    'Fetch records from other members',
  );
  const element = h(
    'section',
    { 'aria-labelledby': 'fetch-members-h', id: 'fetch-members' },
    h('h2', { id: 'fetch-members-h' }, 'Records at other members'),
    h(
      'p',
      { class: 'hint' },
      'Asks the members that hold records for this patient (from the ledger’s record locator), for treatment. Each member answers from the patient’s consent on the ledger; every version received is checked against that member’s transparency log before it is kept.',
    ),
    button,
    out,
  );
  fetchSectionOf = { patientId, element };
  return element;
}

function capitalized(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

function pullReportView(report: PullReport): HTMLElement {
  if (report.members.length === 0)
    return message('info', 'No other member holds records for this patient (record locator).');
  return h(
    'ul',
    { class: 'cards', id: 'fetch-members-report' },
    report.members.map((m) =>
      h(
        'li',
        { class: 'card', 'data-member': m.member, 'data-status': m.status },
        h('h3', {}, m.name),
        h(
          'p',
          {},
          h(
            'span',
            { class: `badge ${m.status === 'ok' ? 'badge-ok' : 'badge-bad'}` },
            m.status === 'ok' ? 'ok' : m.status === 'refused' ? 'refused' : 'error',
          ),
          ` received ${m.received}, kept ${m.kept}, already held ${m.unchanged}, refused ${m.refused.length}`,
        ),
        m.error === undefined ? null : h('p', { class: 'meta' }, m.error),
        m.coverage === undefined ? null : h('p', { class: 'meta coverage' }, `${capitalized(m.coverage)}.`),
        m.refused.length === 0
          ? null
          : h(
              'details',
              { open: true },
              h('summary', {}, `${m.refused.length} version(s) refused`),
              h(
                'ul',
                { class: 'issues' },
                m.refused.map((r) => h('li', {}, `${r.reference}: ${r.reason} (${r.message})`)),
              ),
            ),
        m.provenance === undefined
          ? null
          : h('p', { class: 'meta' }, 'Provenance: ', h('code', {}, m.provenance)),
      ),
    ),
  );
}

/** Common vital signs and labs with their LOINC codes and UCUM units (the unit is not free text). */
const OBSERVATION_CODES: {
  code: string;
  display: string;
  unit: string;
  category: 'vital-signs' | 'laboratory';
}[] = [
  { code: '8867-4', display: 'Heart rate', unit: '/min', category: 'vital-signs' },
  { code: '8480-6', display: 'Systolic blood pressure', unit: 'mm[Hg]', category: 'vital-signs' },
  { code: '8462-4', display: 'Diastolic blood pressure', unit: 'mm[Hg]', category: 'vital-signs' },
  { code: '8310-5', display: 'Body temperature', unit: 'Cel', category: 'vital-signs' },
  { code: '29463-7', display: 'Body weight', unit: 'kg', category: 'vital-signs' },
  { code: '8302-2', display: 'Body height', unit: 'cm', category: 'vital-signs' },
  { code: '59408-5', display: 'Oxygen saturation (pulse oximetry)', unit: '%', category: 'vital-signs' },
  {
    code: '2345-7',
    display: 'Glucose [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    category: 'laboratory',
  },
  { code: '4548-4', display: 'Hemoglobin A1c/Hemoglobin.total in Blood', unit: '%', category: 'laboratory' },
  {
    code: '2160-0',
    display: 'Creatinine [Mass/volume] in Serum or Plasma',
    unit: 'mg/dL',
    category: 'laboratory',
  },
  { code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood', unit: 'g/dL', category: 'laboratory' },
];

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** How a form checks itself and where the server's words go. */
interface FormChecks {
  /** What the person must fix before anything is sent (empty: nothing). */
  readonly check: () => FieldProblem[];
  /** The form's field names → their controls. */
  readonly controls: Readonly<Record<string, Control>>;
  /** FHIRPath prefixes of the resource → field names, to put a server issue beside its field. */
  readonly paths: Readonly<Record<string, string>>;
}

/**
 * A form whose submit checks the fields, then POSTs `build()`. Problems the form finds, and server
 * issues whose `expression` names a field, are shown beside that field; others above the button.
 */
function resourceForm(
  id: string,
  title: string,
  fields: HTMLElement[],
  build: () => Resource,
  done: () => Promise<void>,
  checks: FormChecks,
): HTMLFormElement {
  const out = h('div', { id: `${id}-result` });
  const form = h(
    'form',
    {
      id,
      class: 'card',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
        const problems = checks.check();
        if (problems.length > 0) {
          const rest = showFieldErrors(form, problems, checks.controls);
          replace(
            out,
            message(
              'error',
              `Not saved: please fix the ${problems.length === 1 ? 'field' : 'fields'} marked above.`,
              rest.length === 0
                ? null
                : h(
                    'ul',
                    { class: 'issues' },
                    rest.map((p) => h('li', {}, p.message)),
                  ),
            ),
          );
          return;
        }
        clearFieldErrors(form);
        button.disabled = true;
        replace(out, h('p', { class: 'meta', role: 'status' }, 'Saving…'));
        try {
          const resource = build();
          await sendJson<Resource>(`/fhir/${resource.resourceType}`, resource);
          await done();
          // The chart is drawn again: focus goes to the result, beside the form the person used.
          const again = document.getElementById(`${id}-result`);
          if (again !== null) {
            replace(again, message('ok', `Saved the ${title.toLowerCase()}; it is in the records above.`));
            again.setAttribute('tabindex', '-1');
            again.focus();
          }
          announce(`Saved the ${title.toLowerCase()}.`);
        } catch (error) {
          // Server issues that name a field of this form go beside it, in the server's words.
          const placed =
            error instanceof ApiError
              ? error.details.flatMap((d) => {
                  const at = fieldOfExpression(d.expression, checks.paths);
                  return at === undefined ? [] : [{ field: at, message: d.text, whole: d }];
                })
              : [];
          showFieldErrors(form, placed, checks.controls);
          const issues =
            error instanceof ApiError && error.details.length > 0
              ? error.details.filter((d) => !placed.some((p) => p.whole === d)).map((d) => d.text)
              : error instanceof ApiError && error.issues.length > 0
                ? error.issues
                : [errorText(error)];
          replace(
            out,
            message(
              'error',
              h('p', {}, `Not saved${error instanceof ApiError ? ` (HTTP ${error.status})` : ''}:`),
              issues.length === 0
                ? h('p', {}, 'See the fields marked above.')
                : h(
                    'ul',
                    { class: 'issues' },
                    issues.map((i) => h('li', {}, i)),
                  ),
            ),
          );
          button.disabled = false;
        }
      },
    },
    h('h3', {}, title),
    fields,
    h('button', { type: 'submit', class: 'primary' }, `Save ${title.toLowerCase()}`),
    out,
  );
  return form;
}

function observationForm(patientId: string, done: () => Promise<void>): HTMLElement {
  const code = h(
    'select',
    { id: 'obs-code' },
    OBSERVATION_CODES.map((c) => h('option', { value: c.code }, `${c.display} (${unitText(c.unit)})`)),
  );
  const value = h('input', { type: 'text', inputmode: 'decimal', id: 'obs-value', required: true });
  const when = h('input', {
    type: 'datetime-local',
    id: 'obs-when',
    value: new Date(Date.now() - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16),
  });
  const valueHint = (): string =>
    `A number in the unit shown${rangeText(code.value) === undefined ? '' : `, ${rangeText(code.value)}`}.`;
  const valueField = field('Value', value, valueHint());
  code.addEventListener('change', () => {
    const hint = valueField.querySelector('.hint');
    if (hint !== null) hint.textContent = valueHint();
  });
  return resourceForm(
    'observation-form',
    'Observation',
    [field('What', code), valueField, field('When', when, 'Not in the future.')],
    () => {
      const c =
        OBSERVATION_CODES.find((x) => x.code === code.value) ??
        (OBSERVATION_CODES[0] as (typeof OBSERVATION_CODES)[number]);
      const number = parseNumber(value.value) as number;
      return {
        resourceType: 'Observation',
        status: 'final',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: c.category },
            ],
          },
        ],
        code: { coding: [{ system: 'http://loinc.org', code: c.code, display: c.display }], text: c.display },
        subject: { reference: `Patient/${patientId}` },
        effectiveDateTime: new Date(when.value).toISOString(),
        performer: [{ reference: session()?.fhirUser ?? '' }],
        valueQuantity: {
          value: number,
          unit: c.unit,
          system: 'http://unitsofmeasure.org',
          code: c.unit,
        },
      };
    },
    done,
    {
      check: () =>
        checkObservation({ loinc: code.value, value: value.value, when: when.value, now: new Date() }),
      controls: { code, value, when },
      paths: {
        'Observation.code': 'code',
        'Observation.value': 'value',
        'Observation.valueQuantity': 'value',
        'Observation.effective': 'when',
        'Observation.effectiveDateTime': 'when',
      },
    },
  );
}

function medicationForm(patientId: string, done: () => Promise<void>): HTMLElement {
  const medication = h('input', { type: 'text', id: 'med-name', required: true, autocomplete: 'off' });
  const rxnorm = h('input', { type: 'text', id: 'med-rxnorm', inputmode: 'numeric', autocomplete: 'off' });
  const dosage = h('input', { type: 'text', id: 'med-dosage', autocomplete: 'off' });
  return resourceForm(
    'medication-form',
    'Medication request',
    [
      field('Medication', medication, 'For example “Metformin 500 mg oral tablet”.'),
      field('RxNorm code (optional)', rxnorm),
      field('Dosage instructions', dosage, 'For example “1 tablet twice a day with meals”.'),
    ],
    () => ({
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: {
        text: medication.value.trim(),
        ...(rxnorm.value.trim() === ''
          ? {}
          : {
              coding: [
                {
                  system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
                  code: rxnorm.value.trim(),
                  display: medication.value.trim(),
                },
              ],
            }),
      },
      subject: { reference: `Patient/${patientId}` },
      authoredOn: new Date().toISOString(),
      requester: { reference: session()?.fhirUser ?? '' },
      ...(dosage.value.trim() === '' ? {} : { dosageInstruction: [{ text: dosage.value.trim() }] }),
    }),
    done,
    {
      check: () => checkMedication({ name: medication.value, rxnorm: rxnorm.value }),
      controls: { medication, rxnorm, dosage },
      paths: {
        'MedicationRequest.medicationCodeableConcept.coding': 'rxnorm',
        'MedicationRequest.medicationCodeableConcept': 'medication',
        'MedicationRequest.medication': 'medication',
        'MedicationRequest.dosageInstruction': 'dosage',
      },
    },
  );
}

/**
 * A clinical note as a DocumentReference with the text as a base64 attachment (LOINC 11506-3
 * "Progress note"): one self-contained resource, searchable by type and date, as US Core and IPS
 * carry notes. A Composition would need sections, an author and a document Bundle to mean anything.
 */
function noteForm(patientId: string, done: () => Promise<void>): HTMLElement {
  const title = h('input', { type: 'text', id: 'note-title', autocomplete: 'off', required: true });
  const text = h('textarea', { id: 'note-text', required: true });
  return resourceForm(
    'note-form',
    'Clinical note',
    [field('Title', title), field('Note', text)],
    () => {
      const bytes = new TextEncoder().encode(text.value);
      let binary = '';
      for (const b of bytes) binary += String.fromCharCode(b);
      return {
        resourceType: 'DocumentReference',
        status: 'current',
        type: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }] },
        category: [
          {
            coding: [
              {
                system: 'http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category',
                code: 'clinical-note',
                display: 'Clinical Note',
              },
            ],
          },
        ],
        subject: { reference: `Patient/${patientId}` },
        date: new Date().toISOString(),
        author: [{ reference: session()?.fhirUser ?? '' }],
        description: title.value.trim(),
        content: [
          {
            attachment: {
              contentType: 'text/plain; charset=utf-8',
              data: btoa(binary),
              title: title.value.trim(),
            },
          },
        ],
      };
    },
    done,
    {
      check: () => checkNote({ title: title.value, text: text.value }),
      controls: { title, text },
      paths: {
        'DocumentReference.content.attachment.data': 'text',
        'DocumentReference.content.attachment.title': 'title',
        'DocumentReference.description': 'title',
      },
    },
  );
}

function accessRequestForm(patientId: string): HTMLElement {
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

function breakGlassForm(patientId: string, done: () => Promise<void>): HTMLElement {
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
