/**
 * The chart's forms that produce FHIR R4: an Observation with its LOINC code and UCUM unit, a
 * MedicationRequest (with the server's drug–allergy check and its override reason), a clinical note as a
 * DocumentReference. Each checks its fields before sending and puts the server's issues beside them.
 */
import { ApiError, errorText, sendJson } from '../api.js';
import { announce, field, h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import { clearFieldErrors, showFieldErrors } from '../field-errors.js';
import {
  checkMedication,
  checkNote,
  checkObservation,
  type FieldProblem,
  fieldOfExpression,
  parseNumber,
  rangeText,
} from '../form-checks.js';
import { unitText } from '../quantity-format.js';
import { session } from '../session.js';

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

export function observationForm(patientId: string, done: () => Promise<void>): HTMLElement {
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

export function medicationForm(patientId: string, done: () => Promise<void>): HTMLElement {
  const medication = h('input', { type: 'text', id: 'med-name', required: true, autocomplete: 'off' });
  const rxnorm = h('input', { type: 'text', id: 'med-rxnorm', inputmode: 'numeric', autocomplete: 'off' });
  const dosage = h('input', { type: 'text', id: 'med-dosage', autocomplete: 'off' });
  // Decision 0030: the server refuses a prescription matching an active allergy (409) unless the
  // prescriber gives the reason to override it, which stays in the record and its history.
  const override = h('textarea', { id: 'med-override', rows: 2, maxlength: 1000 });
  return resourceForm(
    'medication-form',
    'Medication request',
    [
      field('Medication', medication, 'For example “Metformin 500 mg oral tablet”.'),
      field('RxNorm code (optional)', rxnorm),
      field('Dosage instructions', dosage, 'For example “1 tablet twice a day with meals”.'),
      field(
        'Why prescribe despite an allergy warning (optional)',
        override,
        'Only if the node warns of an allergy and you prescribe it anyway: why.',
      ),
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
      ...(override.value.trim() === ''
        ? {}
        : {
            extension: [
              {
                url: 'https://careledger.dev/fhir/StructureDefinition/allergy-override-reason',
                valueString: override.value.trim(),
              },
            ],
          }),
    }),
    done,
    {
      check: () => checkMedication({ name: medication.value, rxnorm: rxnorm.value }),
      controls: { medication, rxnorm, dosage, override },
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
export function noteForm(patientId: string, done: () => Promise<void>): HTMLElement {
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
