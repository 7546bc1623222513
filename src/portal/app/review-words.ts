/**
 * The privacy officer's review queue in words (issue 22, "names instead of ids everywhere a person
 * looks"): what a clinician opened under break-glass ("read a version of Maria Rivera's details", "ran
 * $everything on Maria Rivera's whole record", "searched results and measurements"), and a review's
 * outcome. Pure functions (no DOM).
 */
import type { EmergencyAccess } from './break-glass-session.js';

/** FHIR interactions (AuditEvent.subtype, R4 restful-interaction codes) as the review card says them. */
const VERBS: Record<string, string> = {
  read: 'read',
  vread: 'read a version of',
  'history-instance': 'read the history of',
  'history-type': 'read the history of',
  'search-type': 'searched',
  search: 'searched',
  operation: 'ran',
  create: 'created',
  update: 'updated',
  patch: 'changed',
  delete: 'deleted',
};

/** A record of each type, as a person says it ("a result or measurement"); its plural for searches. */
const TYPE_WORDS: Record<string, readonly [one: string, many: string]> = {
  Observation: ['a result or measurement', 'results and measurements'],
  DiagnosticReport: ['a test report', 'test reports'],
  Condition: ['a condition', 'conditions'],
  AllergyIntolerance: ['an allergy', 'allergies'],
  MedicationRequest: ['a prescription', 'prescriptions'],
  MedicationStatement: ['a medication record', 'medication records'],
  MedicationDispense: ['a dispensed medication', 'dispensed medications'],
  Immunization: ['an immunization', 'immunizations'],
  Procedure: ['a procedure', 'procedures'],
  Encounter: ['a visit', 'visits'],
  CarePlan: ['a care plan', 'care plans'],
  DocumentReference: ['a clinical note or document', 'clinical notes and documents'],
  Communication: ['a message', 'messages'],
  Appointment: ['an appointment', 'appointments'],
  Claim: ['a claim', 'claims'],
  ExplanationOfBenefit: ['a claim', 'claims'],
  Consent: ['a consent', 'consents'],
  Task: ['a request', 'requests'],
  ImagingStudy: ['an imaging study', 'imaging studies'],
};

function possessive(name: string): string {
  return name.endsWith('s') ? `${name}’` : `${name}’s`;
}

/**
 * What was opened, in words: `Patient/p1/$everything` → "ran $everything on Maria Rivera’s whole
 * record"; `Patient/p1/_history/2` → "read a version of Maria Rivera’s details"; `Observation/o1` →
 * "read a result or measurement"; `Observation` (a search) → "searched results and measurements".
 */
export function openedWords(
  access: EmergencyAccess,
  patientId: string,
  patientName: string | undefined,
): string {
  const verb = VERBS[access.interaction] ?? access.interaction;
  const whose = patientName === undefined ? 'the patient’s' : possessive(patientName);
  const [type = '', id, ...rest] = access.what.split('/');
  const versioned = rest[0] === '_history';
  const operation = [id, ...rest].find((part) => part?.startsWith('$'));
  if (type === 'Patient' && id === patientId) {
    if (operation !== undefined)
      return `ran ${operation} on ${whose} ${operation === '$everything' ? 'whole record' : 'record'}`;
    return `${versioned && access.interaction === 'read' ? 'read a version of' : verb} ${whose} details`;
  }
  if (type === '') return `${verb} the record`;
  const words = TYPE_WORDS[type];
  if (operation !== undefined) return `ran ${operation} on ${words?.[0] ?? 'a record'}`;
  if (id === undefined || id === '' || id.startsWith('$')) return `${verb} ${words?.[1] ?? 'records'}`;
  return `${versioned && access.interaction === 'read' ? 'read a version of' : verb} ${words?.[0] ?? 'a record'}`;
}

/** A review's outcome as the reviewed table says it. */
export function outcomeWords(outcome: string | undefined): string {
  if (outcome === 'justified') return 'Justified';
  if (outcome === 'not-justified') return 'Not justified';
  return outcome ?? '';
}
