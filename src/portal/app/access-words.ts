/**
 * What an access-history entry did, in words (issue 22, "wording with jargon"): "opened all your
 * records", "read a result", "linked your consent key to your record"; never "ran an operation" or a
 * FHIR operation name. Pure functions (no DOM).
 */

const ACTIONS: Record<string, string> = {
  C: 'created',
  R: 'read',
  U: 'updated',
  D: 'deleted',
  // An operation ($name) not worded below: what it did to the record, not the FHIR term.
  E: 'processed',
};

/** What a record type is, in words, for "read your lab result". */
const NOUNS: Record<string, string> = {
  Observation: 'a result',
  DiagnosticReport: 'a report',
  Condition: 'a condition',
  MedicationRequest: 'a prescription',
  MedicationStatement: 'a medication',
  MedicationDispense: 'a dispensed medication',
  AllergyIntolerance: 'an allergy',
  Immunization: 'an immunization',
  Encounter: 'a visit',
  Procedure: 'a procedure',
  DocumentReference: 'a document',
  CarePlan: 'a care plan',
  ExplanationOfBenefit: 'a claim',
  Consent: 'a consent',
  Patient: 'your details',
  AuditEvent: 'your access history',
  Provenance: 'where a record came from',
};

/** An AuditEvent's entity in words: "opened all your records", "searched your results", "read a result". */
export function accessWords(entity: string, action: string | undefined, searched: boolean): string {
  if (/\/\$everything$/.test(entity)) return 'opened all your records';
  // The break-glass declaration and its review (src/vault/break-glass-service.ts), not "ran an operation".
  if (/\/\$break-glass$/.test(entity)) return 'opened emergency (break-glass) access to your records';
  if (/\/\$break-glass-review$/.test(entity)) return 'reviewed an emergency access to your records';
  if (/\/\$identify$/.test(entity) || entity === 'Patient/$identify')
    return 'matched you to your records here by your ledger address';
  if (/\/\$summary$/.test(entity)) return 'made a summary of your records';
  // Linking the patient's consent key at the desk (src/enrolment): a challenge, then the signed answer.
  if (/\/\$ledger-key-challenge$/.test(entity)) return 'started linking your consent key to your record';
  if (/\/\$enrol-ledger-key$/.test(entity)) return 'linked your consent key to your record';
  if (/\/\$fetch-from-members$/.test(entity)) return 'fetched your records from other members';
  const type = entity.split(/[/?]/)[0] ?? '';
  const noun = NOUNS[type] ?? 'a record';
  if (searched)
    return type === 'AuditEvent'
      ? 'looked at your access history'
      : `searched your records (${noun.replace(/^an? /, '')})`;
  return `${ACTIONS[action ?? ''] ?? 'accessed'} ${noun}`;
}
