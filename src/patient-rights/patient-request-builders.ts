/**
 * The FHIR resources a patient's portal requests become (decision 0029): an amendment request and a
 * refill request as Tasks, a message as a Communication, an appointment request as an Appointment
 * with status `proposed`. Parses untrusted JSON; the access policy (access/patient-requests.ts)
 * checks the result again when it is written.
 */
import type { Appointment, Communication, Resource, Task } from '@medplum/fhirtypes';
import { PATIENT_REQUEST_SYSTEM, type PatientRequestCode } from '../access/patient-requests.js';
import { CareLedgerError } from '../errors/index.js';

const REFERENCE = /^[A-Z][A-Za-z]{1,40}\/[A-Za-z0-9\-.]{1,64}$/;
const MAX_TEXT = 4000;

/** Task.code display for each request. */
const REQUEST_DISPLAY: Record<PatientRequestCode, string> = {
  'amendment-request': 'Request to amend a record (45 CFR 164.526)',
  'refill-request': 'Request for a prescription refill',
};

export function parseText(value: unknown, field: string, required = true): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (!required) return undefined;
    throw new CareLedgerError('ERR_INVALID_INPUT', `${field} is required`, { details: { field } });
  }
  if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_TEXT) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${field} must be text of up to ${MAX_TEXT} characters`, {
      details: { field },
    });
  }
  return value.trim();
}

export function parseReference(value: unknown, field: string, types?: readonly string[]): string {
  if (typeof value !== 'string' || !REFERENCE.test(value)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${field} must be a reference Type/id`, {
      details: { field },
    });
  }
  if (types !== undefined && !types.includes(value.slice(0, value.indexOf('/')))) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${field} must refer to ${types.join(' or ')}`, {
      details: { field },
    });
  }
  return value;
}

function body(input: unknown): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the request body must be a JSON object');
  }
  return input as Record<string, unknown>;
}

function requestTask(
  code: PatientRequestCode,
  patient: string,
  focus: string,
  text: string | undefined,
  now: Date,
): Task {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'proposal',
    code: { coding: [{ system: PATIENT_REQUEST_SYSTEM, code, display: REQUEST_DISPLAY[code] }] },
    focus: { reference: focus },
    for: { reference: patient },
    requester: { reference: patient },
    authoredOn: now.toISOString(),
    lastModified: now.toISOString(),
    ...(text === undefined ? {} : { description: text }),
  };
}

/** `{ focus: "Observation/…", reason: "…", owner?: "Practitioner/…" }` → an amendment request Task. */
export function buildAmendmentRequest(input: unknown, patient: string, now: Date): Task {
  const b = body(input);
  const focus = parseReference(b.focus, 'focus');
  if (focus.startsWith('Patient/') && focus !== patient) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'focus must be one of your own records', {
      details: { field: 'focus' },
    });
  }
  const task = requestTask('amendment-request', patient, focus, parseText(b.reason, 'reason'), now);
  return b.owner === undefined ? task : { ...task, owner: { reference: parseReference(b.owner, 'owner') } };
}

/** `{ medicationRequest: "MedicationRequest/…", note?: "…" }` → a refill request Task. */
export function buildRefillRequest(input: unknown, patient: string, now: Date): Task {
  const b = body(input);
  const focus = parseReference(b.medicationRequest, 'medicationRequest', ['MedicationRequest']);
  return requestTask('refill-request', patient, focus, parseText(b.note, 'note', false), now);
}

/** `{ text, recipient?: "Practitioner/…", inResponseTo?: "Communication/…", about?: "Task/…" }`. */
export function buildMessage(input: unknown, patient: string, now: Date): Communication {
  const b = body(input);
  const text = parseText(b.text, 'text') as string;
  const recipient =
    b.recipient === undefined
      ? undefined
      : parseReference(b.recipient, 'recipient', ['Practitioner', 'Organization', 'CareTeam']);
  const inResponseTo =
    b.inResponseTo === undefined
      ? undefined
      : parseReference(b.inResponseTo, 'inResponseTo', ['Communication']);
  const about = b.about === undefined ? undefined : parseReference(b.about, 'about');
  return {
    resourceType: 'Communication',
    status: 'completed',
    subject: { reference: patient },
    sender: { reference: patient },
    sent: now.toISOString(),
    payload: [{ contentString: text }],
    ...(recipient === undefined ? {} : { recipient: [{ reference: recipient }] }),
    ...(inResponseTo === undefined ? {} : { inResponseTo: [{ reference: inResponseTo }] }),
    ...(about === undefined ? {} : { about: [{ reference: about }] }),
  };
}

/** `{ reason, start?: ISO date-time, practitioner?: "Practitioner/…" }` → a proposed Appointment. */
export function buildAppointmentRequest(input: unknown, patient: string, now: Date): Appointment {
  const b = body(input);
  const reason = parseText(b.reason, 'reason') as string;
  let start: string | undefined;
  if (b.start !== undefined && b.start !== '') {
    const when = new Date(typeof b.start === 'string' ? b.start : Number.NaN);
    if (Number.isNaN(when.getTime()) || when <= now) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'start must be a date and time in the future', {
        details: { field: 'start' },
      });
    }
    start = when.toISOString();
  }
  const practitioner =
    b.practitioner === undefined
      ? undefined
      : parseReference(b.practitioner, 'practitioner', ['Practitioner']);
  return {
    resourceType: 'Appointment',
    status: 'proposed',
    description: reason,
    created: now.toISOString().slice(0, 10),
    ...(start === undefined ? {} : { requestedPeriod: [{ start }] }),
    participant: [
      { actor: { reference: patient }, status: 'accepted', required: 'required' },
      ...(practitioner === undefined
        ? []
        : [
            {
              actor: { reference: practitioner },
              status: 'needs-action' as const,
              required: 'required' as const,
            },
          ]),
    ],
  };
}

/** The Type/id a request Task is about. */
export function focusOf(resource: Resource): string | undefined {
  return resource.resourceType === 'Task' ? resource.focus?.reference : undefined;
}
