/**
 * What a patient may write in their own compartment besides Consent (issue 22, decision 0029): the
 * requests a patient portal sends. Each is checked so that the patient speaks only for themselves
 * and only asks; deciding (accepting an amendment, booking a visit, prescribing) stays with staff.
 */
import type { Resource } from '@medplum/fhirtypes';

/** Task.code of the patient's requests (system of CareLedger's own codes). */
export const PATIENT_REQUEST_SYSTEM = 'https://careledger.dev/fhir/CodeSystem/patient-request';
export const PATIENT_REQUEST_CODES = ['amendment-request', 'refill-request'] as const;
export type PatientRequestCode = (typeof PATIENT_REQUEST_CODES)[number];

export type PatientWriteDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: string };

const refusal = (reason: string): PatientWriteDecision => ({ allowed: false, reason });

/** `Patient/<id>` at the end of a reference (relative, absolute or versioned), or `Patient?…`. */
const PATIENT_REFERENCE = /(?:^|\/)Patient(?:\/([^/?#]+)(?:\/_history\/[^/?#]+)?$|\?)/;

/**
 * Does any reference in the resource name a patient other than `patientId`? A patient's request is
 * stored in their own compartment, but staff who search another patient's chart find it by any of its
 * references (`Appointment?patient=`, `Communication?recipient=`): a patient must not be able to put
 * an entry in someone else's chart, nor tie their request to someone else (session 29 review).
 */
function namesAnotherPatient(value: unknown, patientId: string): boolean {
  if (Array.isArray(value)) return value.some((item) => namesAnotherPatient(item, patientId));
  if (typeof value !== 'object' || value === null) return false;
  for (const [key, field] of Object.entries(value)) {
    if (key === 'reference' && typeof field === 'string') {
      const match = PATIENT_REFERENCE.exec(field);
      if (match !== null && match[1] !== patientId) return true;
    } else if (namesAnotherPatient(field, patientId)) {
      return true;
    }
  }
  return false;
}

/** May the patient `Patient/<patientId>` write this resource (create or update)? */
export function evaluatePatientWrite(resource: Resource, patientId: string): PatientWriteDecision {
  const self = `Patient/${patientId}`;
  if (resource.resourceType !== 'Consent' && namesAnotherPatient(resource, patientId)) {
    return refusal("a patient's request may name no other patient");
  }
  switch (resource.resourceType) {
    case 'Consent':
      return { allowed: true };
    case 'Task': {
      const coding = resource.code?.coding?.find((c) => c.system === PATIENT_REQUEST_SYSTEM);
      if (coding === undefined || !(PATIENT_REQUEST_CODES as readonly string[]).includes(coding.code ?? '')) {
        return refusal('a patient may write amendment and refill request Tasks only');
      }
      if (resource.for?.reference !== self || resource.requester?.reference !== self) {
        return refusal('a request Task must be for and by the patient');
      }
      // The patient asks or withdraws; accepting or rejecting is the care team's.
      if (resource.status !== 'requested' && resource.status !== 'cancelled') {
        return refusal('a patient may request or cancel, not decide');
      }
      return { allowed: true };
    }
    case 'Communication':
      if (resource.sender?.reference !== self || resource.subject?.reference !== self) {
        return refusal('a message must be from the patient, about the patient');
      }
      return { allowed: true };
    case 'Appointment': {
      if (resource.status !== 'proposed' && resource.status !== 'cancelled') {
        return refusal('a patient may propose or cancel an appointment, not book it');
      }
      const own = resource.participant?.some((p) => p.actor?.reference === self) ?? false;
      return own ? { allowed: true } : refusal('the appointment must include the patient');
    }
    default:
      return refusal('a patient may write their own Consent directives only');
  }
}
