/**
 * What a person must fix in a clinician's form, said in words beside the field, before anything is
 * sent (issue 22 items 2 and 3): required fields, a number where a number is meant, values a body can
 * have for common LOINC codes, no dates in the future, codes in their system's format. Pure functions
 * (no DOM), so the rules are unit-tested and could be shared with the server.
 */
import { PLAUSIBLE_RANGES } from '../../fhir/plausibility.js';

export interface FieldProblem {
  /** The form's own name for the field ("value", "when", …); the view maps it to its control. */
  readonly field: string;
  readonly message: string;
}

export { PLAUSIBLE_RANGES };

/** A code's required format per system; a code that does not match is a typing slip, not a code. */
export const CODE_FORMATS: Readonly<Record<string, { pattern: RegExp; example: string }>> = {
  'http://www.nlm.nih.gov/research/umls/rxnorm': { pattern: /^[0-9]{1,10}$/, example: '860975' },
  'http://loinc.org': { pattern: /^[0-9]{1,7}-[0-9]$/, example: '8867-4' },
  'http://snomed.info/sct': { pattern: /^[1-9][0-9]{5,17}$/, example: '44054006' },
  'http://hl7.org/fhir/sid/icd-10-cm': {
    pattern: /^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$/,
    example: 'E11.9',
  },
};

const SYSTEM_NAMES: Record<string, string> = {
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'An RxNorm code',
  'http://loinc.org': 'A LOINC code',
  'http://snomed.info/sct': 'A SNOMED CT code',
  'http://hl7.org/fhir/sid/icd-10-cm': 'An ICD-10-CM code',
};

/** A problem when `code` is not in `system`'s format; undefined when it is, or the system is unknown. */
export function checkCode(system: string, code: string): string | undefined {
  const format = CODE_FORMATS[system];
  if (format === undefined || format.pattern.test(code)) return undefined;
  return `${SYSTEM_NAMES[system] ?? 'This code'} looks like “${format.example}”; check what you typed.`;
}

/** Parses a number as people type it ("98,6" too); undefined when it is not one. */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim().replace(',', '.');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** The range to show in the hint ("between 20 and 300 /min"), or undefined for a code without one. */
export function rangeText(loinc: string): string | undefined {
  const r = PLAUSIBLE_RANGES[loinc];
  return r === undefined ? undefined : `between ${r.low} and ${r.high} ${r.unit}`;
}

export interface ObservationInput {
  readonly loinc: string;
  readonly value: string;
  /** The `datetime-local` value (local time) or an ISO date-time. */
  readonly when: string;
  readonly now: Date;
}

export function checkObservation(input: ObservationInput): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const code = checkCode('http://loinc.org', input.loinc);
  if (code !== undefined) problems.push({ field: 'code', message: code });
  if (input.value.trim() === '') problems.push({ field: 'value', message: 'Enter the measured value.' });
  else {
    const value = parseNumber(input.value);
    const range = PLAUSIBLE_RANGES[input.loinc];
    if (value === undefined)
      problems.push({ field: 'value', message: 'Enter a number, for example 72 or 36.8.' });
    else if (range !== undefined && (value < range.low || value > range.high))
      problems.push({
        field: 'value',
        message: `${value} ${range.unit} is not a value a person can have: enter a value ${rangeText(input.loinc)}.`,
      });
  }
  problems.push(...checkWhen(input.when, input.now, 'when'));
  return problems;
}

/** A date-time that must be given, valid and not in the future (a minute's clock skew allowed). */
export function checkWhen(when: string, now: Date, field: string): FieldProblem[] {
  if (when.trim() === '') return [{ field, message: 'Enter when it was measured.' }];
  const at = new Date(when);
  if (Number.isNaN(at.getTime())) return [{ field, message: 'Enter a valid date and time.' }];
  if (at.getTime() > now.getTime() + 60_000)
    return [{ field, message: 'This date is in the future: enter when it happened.' }];
  return [];
}

export function checkMedication(input: { name: string; rxnorm: string }): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (input.name.trim() === '')
    problems.push({ field: 'medication', message: 'Enter the medication, its strength and form.' });
  const rxnorm = input.rxnorm.trim();
  if (rxnorm !== '') {
    const problem = checkCode('http://www.nlm.nih.gov/research/umls/rxnorm', rxnorm);
    if (problem !== undefined) problems.push({ field: 'rxnorm', message: problem });
  }
  return problems;
}

export function checkNote(input: { title: string; text: string }): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (input.title.trim() === '') problems.push({ field: 'title', message: 'Enter a title for the note.' });
  if (input.text.trim() === '') problems.push({ field: 'text', message: 'Write the note before saving it.' });
  return problems;
}

/** Break-glass: a reason the privacy officer can review, and the code from the authenticator app. */
export function checkBreakGlass(input: { reason: string; code: string }): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (input.reason.trim().length < 10)
    problems.push({
      field: 'reason',
      message: 'Say what the emergency is and why you need the record (at least 10 characters).',
    });
  if (!/^[0-9]{6,8}$/.test(input.code.trim()))
    problems.push({ field: 'code', message: 'Enter the 6-digit code your authenticator app shows now.' });
  return problems;
}

/**
 * The form field a server issue's FHIRPath `expression` points at ("Observation.valueQuantity.value"
 * → "value"), by the longest matching prefix in `fields` (FHIRPath prefix → field name); undefined
 * when none matches. Index brackets are ignored: "content[0].attachment.data" matches "content.attachment".
 */
export function fieldOfExpression(
  expressions: readonly string[] | undefined,
  fields: Readonly<Record<string, string>>,
): string | undefined {
  let best: { field: string; length: number } | undefined;
  for (const expression of expressions ?? []) {
    const path = expression.replace(/\[\d+\]/g, '');
    for (const [prefix, field] of Object.entries(fields)) {
      if ((path === prefix || path.startsWith(`${prefix}.`)) && prefix.length > (best?.length ?? -1))
        best = { field, length: prefix.length };
    }
  }
  return best?.field;
}
