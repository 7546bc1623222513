/**
 * The OpenAPI description of records between members (Core 5), kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors } from './openapi-helpers.js';
import type { PathItem } from './openapi-types.js';

/** Records between members (Core 5): a clinician's pull. */
export function fetchFromMembersPaths(): Record<string, PathItem> {
  return {
    '/fhir/Patient/{id}/$fetch-from-members': {
      post: {
        operationId: 'fetchFromMembers',
        summary:
          "Pull a patient's records from the other members holding some (record locator on the ledger)",
        description:
          "For a practitioner of this member: finds the members holding records of the patient's ledger address (RecordLocator), asks each with SMART Backend Services (an ES256K client assertion signed by this member's ledger key, purpose_of_use and the practitioner's ledger address), verifies every version received against that member's log (version proof, tlog-proof signed by the member's registered log key, consistent with its latest anchor on the ledger), keeps what verifies with meta.source and one Provenance per member, and reports what each member refused or what failed verification, with the reason.",
        tags: ['fhir'],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: '0b6e2f7a-3c1d-4f4e-9a55-5d2e7c1b8a90',
          },
          {
            name: 'purpose',
            in: 'query',
            required: false,
            description: 'HL7 v3 PurposeOfUse (default: the request purpose, TREAT).',
            schema: { type: 'string', examples: ['TREAT'] },
          },
        ],
        responses: {
          '200': {
            description:
              '{ patient, members: [{ member, name, status: ok|refused|error, error?, received, kept, unchanged, refused: [{ reference, reason, message }], provenance? }] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized', 'Forbidden', 'NotFound', 'PreconditionFailed', 'Unavailable'),
        },
      },
    },
  };
}

/** The patient's view across members. */
export function patientEverywherePaths(): Record<string, PathItem> {
  return {
    '/patient/everywhere': {
      get: {
        operationId: 'listPatientAudiences',
        summary:
          "The members holding the signed-in patient's records, and the audience to sign an assertion for at each",
        tags: ['account'],
        responses: {
          '200': {
            description: '{ patient: ledger address, members: [{ address, name, audience }] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized', 'Forbidden', 'PreconditionFailed'),
        },
      },
      post: {
        operationId: 'collectPatientView',
        summary: "The patient's records and access history from every member, each with its proof status",
        description:
          "Body { assertions: [{ member, assertion }] }: one RFC 7523 JWT per member, signed ES256K with the patient's ledger key (iss = sub = the address, aud = that member's token endpoint, exp within 5 minutes, a fresh jti). Each member exchanges its assertion for a token limited to that patient (PATRQT) and serves $everything and the AuditEvents; each item is checked against the member's anchored log.",
        tags: ['account'],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '200': {
            description:
              '{ members: [{ address, name, status, error? }], records: [{ member, memberName, resource, verification }], accessHistory: [{ member, memberName, auditEvent, tlogProof?, verification }] }; verification is { status: verified, index, checkpoint, anchoredSize } or { status: failed, reason, message }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'PreconditionFailed'),
        },
      },
    },
  };
}
