/**
 * A record's status as a patient reads it (issue 22, "wording with jargon"): FHIR status codes
 * ("completed", "entered-in-error", an intent "plan") shown as words, in sentence case, and worded for
 * the kind of record ("Given" for a completed immunization, "Current" for an active condition). A code
 * not listed is shown as words, never left out. Pure functions (no DOM).
 */

/** Codes worded the same for every record type (FHIR R4 value sets; hyphens as spaces otherwise). */
const COMMON: Record<string, string> = {
  active: 'Active',
  completed: 'Completed',
  finished: 'Finished',
  'in-progress': 'In progress',
  'on-hold': 'On hold',
  cancelled: 'Cancelled',
  stopped: 'Stopped',
  revoked: 'Withdrawn',
  draft: 'Draft',
  planned: 'Planned',
  arrived: 'Arrived',
  triaged: 'Assessed',
  onleave: 'On leave',
  preparation: 'Being prepared',
  'not-done': 'Not done',
  'entered-in-error': 'Entered in error',
  unknown: '',
};

/** Per record type, where the common word would mislead or is jargon. */
const BY_TYPE: Record<string, Record<string, string>> = {
  // Immunization.status (R4: completed | entered-in-error | not-done).
  Immunization: { completed: 'Given', 'not-done': 'Not given' },
  // Condition.clinicalStatus (condition-clinical).
  Condition: {
    active: 'Current',
    recurrence: 'Came back',
    relapse: 'Came back',
    inactive: 'No longer current',
    remission: 'In remission',
    resolved: 'Resolved',
  },
  AllergyIntolerance: { active: 'Current', inactive: 'No longer current', resolved: 'Resolved' },
  // MedicationRequest.status: "completed" is a course that ended.
  MedicationRequest: { active: 'Active prescription', completed: 'Course finished' },
  MedicationStatement: { active: 'Taking', completed: 'Finished taking', 'not-taken': 'Not taken' },
  Goal: { proposed: 'Proposed', accepted: 'Agreed', achieved: 'Achieved', rejected: 'Not agreed' },
};

/** Request intents (FHIR R4 request-intent) a patient can act on: others say nothing to them. */
const INTENTS: Record<string, string> = {
  proposal: 'Proposed',
  plan: '',
  order: '',
  'original-order': '',
  directive: '',
  option: 'An option',
};

function sentence(code: string): string {
  const words = code.replace(/-/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A status code of a record of `resourceType` in words ('' for none or "unknown"). */
export function statusWords(resourceType: string, status: unknown): string {
  if (typeof status !== 'string' || status === '') return '';
  return BY_TYPE[resourceType]?.[status] ?? COMMON[status] ?? sentence(status);
}

/** A request's intent in words, '' for the intents that tell a patient nothing ("plan", "order"). */
export function intentWords(intent: unknown): string {
  if (typeof intent !== 'string' || intent === '') return '';
  return INTENTS[intent] ?? sentence(intent);
}
