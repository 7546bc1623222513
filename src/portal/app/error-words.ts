/**
 * A refusal or failure as a person reads it (issue 22: "raw FHIR error texts"): the node's own sentence
 * where it has one, without "(HTTP 404)" and with FHIR references in words ("Patient/c887… does not
 * exist" → "The patient does not exist"); a busy or failing node in plain words. Pure (no DOM).
 */

const REFERENCE = /\b([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/\d+)?\b/g;

/** FHIR resource types whose references the portal says as words; anything else is left as written. */
const REFERENCE_WORDS: Record<string, string> = {
  Patient: 'the patient',
  Practitioner: 'the clinician',
  PractitionerRole: 'the clinician',
  Organization: 'the organization',
  Observation: 'the result',
  Condition: 'the condition',
  MedicationRequest: 'the prescription',
  AllergyIntolerance: 'the allergy',
  Immunization: 'the immunization',
  Procedure: 'the procedure',
  Encounter: 'the visit',
  DocumentReference: 'the document',
  CarePlan: 'the care plan',
  Communication: 'the message',
  Appointment: 'the visit',
  Task: 'the request',
  Consent: 'the consent',
};

function capitalised(text: string): string {
  return text === '' ? text : `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

export function errorWords(status: number, message: string): string {
  if (status === 429 || status === 503) return 'The service is busy right now. Try again in a moment.';
  if (status >= 500)
    return 'Something went wrong at the service. Try again; if it keeps failing, contact its support.';
  const said = message.trim();
  if (said === '' || /^HTTP \d{3}$/.test(said)) {
    if (status === 404) return 'It was not found: it may have been removed, or the link is not complete.';
    if (status === 403) return 'You are not allowed to do this.';
    return 'The request was not accepted.';
  }
  const words = said.replace(REFERENCE, (whole, type: string) => REFERENCE_WORDS[type] ?? whole);
  return capitalised(words);
}
