/**
 * The OpenAPI description of `/patient-rights` (issue 22, decision 0029), kept out of openapi.ts so
 * that file does not grow; openapi.ts passes its own helpers in.
 */
import type { Operation, OperationHelpers } from './openapi-types.js';

type Helpers = OperationHelpers<'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound'>;

const PATIENT_QUERY = {
  name: 'patient',
  in: 'query' as const,
  required: false,
  description: 'For staff: the Patient id (a patient always gets their own).',
  schema: { type: 'string' as const },
};

function request(h: Helpers, operationId: string, summary: string, description: string): Operation {
  return {
    operationId,
    summary,
    description,
    tags: ['patient-rights'],
    requestBody: { required: true, content: h.json({ type: 'object' }) },
    responses: {
      '201': {
        description: 'The FHIR resource created in the patient’s compartment.',
        content: h.json({ type: 'object' }),
      },
      ...h.errors('BadRequest', 'Unauthorized', 'Forbidden'),
    },
  } as Operation;
}

export function patientRightsPaths(h: Helpers): Record<string, Record<string, Operation>> {
  return {
    '/patient-rights/disclosures': {
      get: {
        operationId: 'patientRightsDisclosures',
        summary: 'Accounting of disclosures (45 CFR 164.528)',
        description:
          'Disclosures outside treatment, payment and operations, and every access by another member, over six years: a FHIR collection Bundle (a List and the AuditEvents), or `format=html` a printable page.',
        tags: ['patient-rights'],
        parameters: [
          PATIENT_QUERY,
          {
            name: 'format',
            in: 'query',
            required: false,
            description: '`html` for the printable page.',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': { description: 'A FHIR Bundle, or HTML.', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden'),
        },
      } as Operation,
    },
    '/patient-rights/record': {
      get: {
        operationId: 'patientRightsRecordCopy',
        summary: 'A human-readable printable copy of the record (HTML with a print stylesheet)',
        tags: ['patient-rights'],
        parameters: [PATIENT_QUERY],
        responses: {
          '200': { description: 'HTML.', content: { 'text/html': { schema: { type: 'string' } } } },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden'),
        },
      } as Operation,
    },
    '/patient-rights/amendments': {
      post: request(
        h,
        'patientRightsAmendmentRequest',
        'Ask to amend a record (45 CFR 164.526)',
        'Body `{ focus, reason }`; an amendment-request Task.',
      ),
    },
    '/patient-rights/amendments/{id}/decision': {
      post: {
        operationId: 'patientRightsAmendmentDecision',
        summary: 'The care team accepts or denies an amendment request',
        description:
          'Staff only. `{ decision: "accept", amended }` writes the amended record as a new version; `{ decision: "deny", reason }` links the denial from the record and tells the patient of the right to disagree.',
        tags: ['patient-rights'],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: 'The Task id.',
            schema: { type: 'string' },
            example: 'task-1',
          },
        ],
        requestBody: { required: true, content: h.json({ type: 'object' }) },
        responses: {
          '200': { description: '`{ task, recordVersion }`.', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound'),
        },
      } as Operation,
    },
    '/patient-rights/refills': {
      post: request(
        h,
        'patientRightsRefillRequest',
        'Ask for a refill of an active prescription',
        'Body `{ medicationRequest, note? }`; a refill-request Task.',
      ),
    },
    '/patient-rights/appointments': {
      post: request(
        h,
        'patientRightsAppointmentRequest',
        'Ask for a visit',
        'Body `{ reason, start?, practitioner? }`; an Appointment with status proposed.',
      ),
    },
    '/patient-rights/messages': {
      post: request(
        h,
        'patientRightsMessage',
        'Write to the care team',
        'Body `{ text, recipient?, inResponseTo?, about? }`; a Communication.',
      ),
    },
    '/patient-rights/messages/unread': {
      get: {
        operationId: 'patientRightsUnreadMessages',
        summary: 'Messages addressed to the caller that they have not opened',
        tags: ['patient-rights'],
        parameters: [PATIENT_QUERY],
        responses: {
          '200': { description: '`{ unread, ids }`.', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden'),
        },
      } as Operation,
    },
    '/patient-rights/practitioner-names': {
      get: {
        operationId: 'patientRightsPractitionerNames',
        summary:
          "Personal names of this node's practitioners (from their Practitioner resources), for any signed-in user",
        tags: ['patient-rights'],
        parameters: [
          {
            name: 'ref',
            in: 'query',
            required: true,
            description: '`Practitioner/<id>`; repeat for several (at most 50)',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': {
            description:
              '`{ names: { "Practitioner/dr-grey": "Dr Meredith Grey" } }`; unknown or unnamed ones are left out.',
            content: h.json({ type: 'object' }),
          },
          ...h.errors('Unauthorized'),
        },
      } as Operation,
    },
  };
}
