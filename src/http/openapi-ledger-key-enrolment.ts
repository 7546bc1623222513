/**
 * The OpenAPI description of patient key enrolment (issue 14 item 12, src/enrolment), kept out of
 * openapi.ts so that file does not grow; openapi.ts passes its own helpers in.
 */
import { LEDGER_KEY_PROOF_DOMAIN } from '../identity/ledger-key-proof.js';
import type { Operation, OperationHelpers } from './openapi-types.js';

type ErrorName =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'Conflict'
  | 'Unprocessable'
  | 'Unavailable';

type Helpers = OperationHelpers<ErrorName>;

const patientId = {
  name: 'id',
  in: 'path' as const,
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' },
  example: 'example-1',
};

export function ledgerKeyEnrolmentPaths(h: Helpers): Record<string, Record<string, Operation>> {
  const linked = h.json({
    type: 'object',
    required: ['patient', 'address', 'previous', 'changed', 'versionId'],
    properties: {
      patient: { type: 'string', examples: ['Patient/example-1'] },
      address: { type: ['string', 'null'], description: 'The key now linked (null after an unlink).' },
      previous: { type: ['string', 'null'], description: 'The key linked before, if any.' },
      changed: { type: 'boolean', description: 'False when the proof re-confirmed the key already linked.' },
      versionId: { type: ['string', 'null'] },
    },
  });
  return {
    '/fhir/Patient/{id}/$ledger-key-challenge': {
      post: {
        operationId: 'issueLedgerKeyChallenge',
        summary: 'Start linking a ledger key to a Patient: a single-use challenge for the key to sign',
        description: `The node's staff (at the desk) or the patient themselves ask; the node stores the challenge (node, Patient, key, 32-byte nonce, expiry 10 minutes on) and answers it with its EIP-712 typed data (domain "${LEDGER_KEY_PROOF_DOMAIN.name}", version ${LEDGER_KEY_PROOF_DOMAIN.version}, no chain id; primary type Enrolment). The key's holder signs it (eth_signTypedData_v4, or \`careledger patient key enrol\`) and sends the signature to $enrol-ledger-key. A Patient's ledger-address identifier cannot be written any other way: a create, update, PATCH or transaction that would set, change or remove it is refused with 403.`,
        tags: ['fhir'],
        parameters: [patientId],
        requestBody: {
          required: true,
          content: h.json({
            type: 'object',
            required: ['key'],
            properties: { key: h.schema('Address') },
          }),
        },
        responses: {
          '201': {
            description: '{ challenge: { node, patient, key, nonce, expiresAt }, typedData }',
            content: h.json({ type: 'object' }),
          },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden'),
        },
      } as Operation,
    },
    '/fhir/Patient/{id}/$enrol-ledger-key': {
      post: {
        operationId: 'enrolLedgerKey',
        summary: "Link the challenge's key to the Patient, given the key's signature over the challenge",
        description:
          "Refused with the reason in the OperationOutcome: a signature not by the challenge's key (400, signature-mismatch), a challenge already used (409, challenge-used), expired, unknown or issued for another patient (422). A first link may be made by the node's staff or the patient; replacing a linked key needs the privacy officer (403 otherwise) and this fresh proof by the new key. Every enrolment, and every refusal, is audited (AuditEvent, operation $enrol-ledger-key, in the patient's history).",
        tags: ['fhir'],
        parameters: [patientId],
        requestBody: {
          required: true,
          content: h.json({
            type: 'object',
            required: ['nonce', 'signature'],
            properties: { nonce: h.schema('Bytes32'), signature: h.schema('Signature') },
          }),
        },
        responses: {
          '200': { description: 'Linked.', content: linked },
          ...h.errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'Conflict',
            'Unprocessable',
            'Unavailable',
          ),
        },
      } as Operation,
    },
    '/fhir/Patient/{id}/$unlink-ledger-key': {
      post: {
        operationId: 'unlinkLedgerKey',
        summary: "Remove the Patient's ledger key link (privacy officer only; audited)",
        tags: ['fhir'],
        parameters: [patientId],
        responses: {
          '200': { description: 'Unlinked.', content: linked },
          ...h.errors('Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
        },
      } as Operation,
    },
  };
}
