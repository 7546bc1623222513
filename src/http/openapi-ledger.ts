/**
 * The OpenAPI description of the node's view of the ledger (/ledger), kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors, json, nullable, schema } from './openapi-helpers.js';
import type { Parameter, PathItem } from './openapi-types.js';

export const addressQuery = (name: string, required: boolean, description: string): Parameter => ({
  name,
  in: 'query',
  required,
  description,
  schema: schema('Address'),
  example: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
});

export const waitQuery: Parameter = {
  name: 'wait',
  in: 'query',
  description: 'true: answer 201 once the transaction is mined (up to 30 s); otherwise 202 once stored.',
  schema: { type: 'string', enum: ['true', 'false'] },
};

/** The ledger as this node indexes it: members, proposals, practitioners, locations, sync, transactions, consent. */
export function ledgerPaths(): Record<string, PathItem> {
  return {
    '/ledger/members': {
      get: {
        operationId: 'listMembers',
        summary: 'Consortium members, from the ledger index',
        tags: ['ledger'],
        responses: {
          '200': {
            description: 'Members, active and removed.',
            content: json({
              type: 'object',
              required: ['members'],
              properties: { members: { type: 'array', items: schema('Member') } },
            }),
          },
          ...errors('Unavailable'),
        },
      },
    },
    '/ledger/proposals': {
      get: {
        operationId: 'listProposals',
        summary: 'Admission and removal proposals with their votes, from the ledger index',
        description:
          'Folded from the ConsortiumRegistry ProposalCreated and VoteCast events, oldest first. threshold is the effective threshold (min(k, active members)) when the latest vote was cast. Names come from the indexed members: the subject of an admission not yet executed has none.',
        tags: ['ledger'],
        responses: {
          '200': {
            description: 'Every proposal, executed, pending or expired.',
            content: json({
              type: 'object',
              required: ['proposals'],
              properties: {
                proposals: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: [
                      'id',
                      'kind',
                      'status',
                      'subject',
                      'subjectName',
                      'proposer',
                      'proposerName',
                      'votes',
                      'threshold',
                      'executed',
                      'expiresAt',
                      'voters',
                      'blockNumber',
                      'txHash',
                    ],
                    properties: {
                      id: { type: 'string', pattern: '^[0-9]+$' },
                      kind: { enum: ['admission', 'removal'] },
                      status: { enum: ['executed', 'pending', 'expired'] },
                      subject: schema('Address'),
                      subjectName: { type: nullable('string') },
                      proposer: schema('Address'),
                      proposerName: { type: nullable('string') },
                      votes: { type: 'integer' },
                      threshold: { type: 'integer' },
                      executed: { type: 'boolean' },
                      expiresAt: { type: 'integer', description: 'Unix seconds.' },
                      voters: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['address', 'name'],
                          properties: { address: schema('Address'), name: { type: nullable('string') } },
                        },
                      },
                      blockNumber: { type: 'integer', description: 'The block of ProposalCreated.' },
                      txHash: schema('Bytes32'),
                    },
                  },
                },
              },
            }),
          },
          ...errors('Unavailable'),
        },
      },
    },
    '/ledger/practitioners': {
      get: {
        operationId: 'listPractitioners',
        summary: 'Practitioners attested on the ledger, from the ledger index',
        description:
          'Revoked and expired attestations included. credentialHash is a keyed hash of the credential, never the credential. valid is ConsortiumRegistry.practitionerStatus now: not revoked, not expired, attested by an active member.',
        tags: ['ledger'],
        parameters: [
          {
            name: 'organization',
            in: 'query',
            required: false,
            description: 'Only the practitioners attested by this member.',
            schema: schema('Address'),
          },
        ],
        responses: {
          '200': {
            description: 'The attested practitioners (possibly none).',
            content: json({
              type: 'object',
              required: ['practitioners'],
              properties: {
                practitioners: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: [
                      'address',
                      'organization',
                      'credentialHash',
                      'qualificationCode',
                      'expiresAt',
                      'revoked',
                      'expired',
                      'valid',
                    ],
                    properties: {
                      address: schema('Address'),
                      organization: schema('Address'),
                      credentialHash: schema('Bytes32'),
                      qualificationCode: { type: 'string' },
                      expiresAt: { type: 'integer', description: 'Unix seconds.' },
                      revoked: { type: 'boolean' },
                      expired: { type: 'boolean' },
                      valid: { type: 'boolean' },
                    },
                  },
                },
              },
            }),
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/ledger/locations/{patient}': {
      get: {
        operationId: 'getRecordLocations',
        summary: 'Which members hold records of a patient, from the ledger index (RecordLocator)',
        description:
          'A member node announces a pointer (patient ledger address → member) when it stores a Patient carrying that address, and withdraws it when the patient is erased there. Only active members are listed, in the order they announced. The patient is named by their pseudonymous ledger address only.',
        tags: ['ledger'],
        parameters: [
          {
            name: 'patient',
            in: 'path',
            required: true,
            description: 'The patient’s ledger address.',
            schema: schema('Address'),
            example: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
          },
        ],
        responses: {
          '200': {
            description: 'The members holding records of the patient (possibly none).',
            content: json({
              type: 'object',
              required: ['patient', 'members'],
              properties: {
                patient: schema('Address'),
                members: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['address', 'name', 'fhirBaseUrl', 'role'],
                    properties: {
                      address: schema('Address'),
                      name: { type: 'string' },
                      fhirBaseUrl: { type: 'string' },
                      role: schema('MemberRole'),
                    },
                  },
                },
              },
            }),
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/ledger/sync': {
      get: {
        operationId: 'getSync',
        summary: 'How far the ledger index has followed the chain',
        tags: ['ledger'],
        responses: {
          '200': { description: 'Sync status.', content: json(schema('SyncStatus')) },
          ...errors('Unavailable'),
        },
      },
    },
    '/ledger/transactions/{hash}': {
      get: {
        operationId: 'getTransaction',
        summary: 'A transaction this node sent',
        tags: ['ledger'],
        parameters: [
          {
            name: 'hash',
            in: 'path',
            required: true,
            schema: schema('Bytes32'),
            example: `0x${'ab'.repeat(32)}`,
          },
        ],
        responses: {
          '200': { description: 'The outbox entry.', content: json(schema('OutboxTransaction')) },
          ...errors('BadRequest', 'NotFound', 'Unavailable'),
        },
      },
    },
    '/ledger/consent/grants': {
      post: {
        operationId: 'relayGrant',
        summary: 'Relay a patient-signed grant to the ledger',
        description:
          'Checked before anything is sent (fields, window, known bits, signature recovers to grant.patient), simulated against the chain, signed by this node and stored; the relay is recorded in the node’s transparency log before the answer.',
        tags: ['consent'],
        parameters: [waitQuery],
        requestBody: { required: true, content: json(schema('SignedGrant')) },
        responses: {
          '201': { description: 'Mined (wait=true).', content: json(schema('RelayReceipt')) },
          '202': { description: 'Stored in the outbox and sent.', content: json(schema('RelayReceipt')) },
          ...errors('BadRequest', 'Forbidden', 'Conflict', 'PayloadTooLarge', 'Unprocessable', 'Unavailable'),
        },
      },
      get: {
        operationId: 'listGrants',
        summary: 'Grants of a patient or to a grantee, from the ledger index',
        tags: ['consent'],
        parameters: [
          addressQuery('patient', false, 'Give patient, grantee or both.'),
          addressQuery('grantee', false, 'Give patient, grantee or both.'),
        ],
        responses: {
          '200': {
            description: 'Grants, revoked ones included.',
            content: json({
              type: 'object',
              required: ['grants'],
              properties: { grants: { type: 'array', items: schema('GrantRecord') } },
            }),
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/ledger/consent/revocations': {
      post: {
        operationId: 'relayRevocation',
        summary: 'Relay a patient-signed revocation to the ledger',
        tags: ['consent'],
        parameters: [waitQuery],
        requestBody: { required: true, content: json(schema('SignedRevoke')) },
        responses: {
          '201': { description: 'Mined (wait=true).', content: json(schema('RelayReceipt')) },
          '202': { description: 'Stored in the outbox and sent.', content: json(schema('RelayReceipt')) },
          ...errors('BadRequest', 'Forbidden', 'Conflict', 'PayloadTooLarge', 'Unprocessable', 'Unavailable'),
        },
      },
    },
  };
}

/** One grant, and the consent check. */
export function ledgerConsentPaths(): Record<string, PathItem> {
  return {
    '/ledger/consent/grants/{grantId}': {
      get: {
        operationId: 'getGrant',
        summary: 'One grant, from the ledger index',
        tags: ['consent'],
        parameters: [
          {
            name: 'grantId',
            in: 'path',
            required: true,
            description: 'The EIP-712 digest of the grant (what the patient signed).',
            schema: schema('Bytes32'),
            example: `0x${'cd'.repeat(32)}`,
          },
        ],
        responses: {
          '200': { description: 'The grant.', content: json(schema('GrantRecord')) },
          ...errors('NotFound', 'Unavailable'),
        },
      },
    },
    '/ledger/consent/check': {
      get: {
        operationId: 'checkConsent',
        summary: 'May the grantee see these categories for these purposes, for this patient, at this time?',
        description:
          'Allowed when one grant covers every category and purpose asked, to the grantee itself or to the active member organization that attests the grantee as a practitioner. An empty category or purpose list is never covered.',
        tags: ['consent'],
        parameters: [
          addressQuery('patient', true, 'The patient.'),
          addressQuery('grantee', true, 'The organization or practitioner asking.'),
          {
            name: 'category',
            in: 'query',
            required: true,
            description: 'Comma-separated category names.',
            style: 'form',
            explode: false,
            schema: { type: 'array', items: schema('DataCategory') },
            example: 'laboratory',
          },
          {
            name: 'purpose',
            in: 'query',
            required: true,
            description: 'Comma-separated purpose of use codes.',
            style: 'form',
            explode: false,
            schema: { type: 'array', items: schema('PurposeOfUse') },
            example: 'TREAT',
          },
          {
            name: 'at',
            in: 'query',
            description: 'Unix seconds; default now.',
            schema: { type: 'integer', minimum: 0 },
          },
        ],
        responses: {
          '200': {
            description: 'The decision (a denial is a value, not an error).',
            content: json(schema('ConsentDecision')),
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
  };
}

/** The log's checkpoints anchored on the ledger. */
export function anchorPaths(): Record<string, PathItem> {
  return {
    '/ledger/anchors': {
      get: {
        operationId: 'listAnchors',
        summary: "A member log's checkpoints anchored on CheckpointAnchor, from this node's index",
        tags: ['ledger'],
        parameters: [{ name: 'origin', in: 'query', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description:
              '{ origin, anchors: [{ origin, treeSize, rootHash, noteHash, member, anchoredAt, blockNumber, txHash }] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest'),
        },
      },
    },
  };
}
