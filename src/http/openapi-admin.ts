/**
 * The OpenAPI description of the operator endpoints (/admin), kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors, json, schema } from './openapi-helpers.js';
import type { PathItem } from './openapi-types.js';

/** Crypto-shredding a patient (operator). */
export function adminErasePaths(): Record<string, PathItem> {
  return {
    '/admin/patients/{id}/erase': {
      post: {
        operationId: 'erasePatient',
        summary:
          "Crypto-shred a patient's records (operator token): their data keys are destroyed, reads answer 410 Gone, every log proof still verifies",
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, example: 'p-1' }],
        responses: {
          '200': {
            description: '{ patient, erasedAt, keyVersions, alreadyErased }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'NotFound', 'Unavailable'),
        },
      },
    },
  };
}

/** Users and OAuth clients (operator). */
export function adminUserPaths(): Record<string, PathItem> {
  return {
    '/admin/practitioner-directory': {
      get: {
        operationId: 'listPractitionerDirectory',
        summary:
          'Who each of this node’s practitioner ledger addresses is: the account’s Practitioner reference and the name on it',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        responses: {
          '200': {
            description:
              '{ practitioners: [{ address, practitioner, name (null without one), username, disabled }] }.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized'),
        },
      },
    },
    '/admin/users': {
      post: {
        operationId: 'createUser',
        summary:
          'Enrol a user (practitioner with attested ledger address, or patient): answers the TOTP secret once',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '201': {
            description: 'The user, totpSecret and otpauthUri.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'PreconditionFailed'),
        },
      },
    },
    '/admin/clients': {
      post: {
        operationId: 'createClient',
        summary:
          'Register an OAuth client: a SMART app, or another member system (jwks, memberAddress) for Backend Services',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '201': {
            description: 'The client.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'PreconditionFailed'),
        },
      },
      get: {
        operationId: 'listClients',
        summary:
          'The registered OAuth clients with their status; ?status=pending lists self-registered apps waiting for approval',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          { name: 'status', in: 'query', required: false, schema: { enum: ['pending', 'approved'] } },
        ],
        responses: {
          '200': {
            description: '{ clients: [{ clientId, name, redirectUris, status, registeredVia, ... }] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized'),
        },
      },
    },
    '/admin/clients/{id}/approve': {
      post: {
        operationId: 'approveClient',
        summary:
          'Approve a self-registered app (RFC 7591 registration held for review): users can sign in to it from now on',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: 'b7e1c0de-4a5f-4c3e-9d2a-0f1e2d3c4b5a',
          },
        ],
        responses: {
          '200': {
            description: 'The approved client.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized', 'NotFound'),
        },
      },
    },
    '/admin/clients/{id}': {
      delete: {
        operationId: 'deleteClient',
        summary: 'Reject a pending app, or withdraw an approved one',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: 'b7e1c0de-4a5f-4c3e-9d2a-0f1e2d3c4b5a',
          },
        ],
        responses: {
          '204': { description: 'Removed.' },
          ...errors('Unauthorized', 'NotFound'),
        },
      },
    },
    '/admin/users/{username}/unlock': {
      post: {
        operationId: 'unlockSignIn',
        summary:
          'Lift a sign-in lockout of a username and its one-time codes (after 100 consecutive failures, only the operator can)',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          { name: 'username', in: 'path', required: true, schema: { type: 'string' }, example: 'dr.one' },
        ],
        responses: {
          '200': {
            description: '{ unlocked: true }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized'),
        },
      },
    },
  };
}

/** Membership proposals (operator). */
export function memberProposalPaths(): Record<string, PathItem> {
  return {
    '/admin/members/proposals': {
      post: {
        operationId: 'proposeMember',
        summary: 'Propose (and vote for) the admission of an organization',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: { required: true, content: json(schema('MemberCandidate')) },
        responses: {
          '201': { description: 'Mined.', content: json(schema('ProposalReceipt')) },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'Conflict',
            'PayloadTooLarge',
            'Unprocessable',
            'Unavailable',
          ),
        },
      },
    },
  };
}

/** Votes on membership proposals, practitioner attestations (operator). */
export function memberVotePaths(): Record<string, PathItem> {
  return {
    '/admin/members/proposals/{id}/votes': {
      post: {
        operationId: 'voteOnProposal',
        summary: 'Vote for a pending admission proposal',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string', pattern: '^[0-9]{1,20}$' },
            example: '3',
          },
        ],
        responses: {
          '201': { description: 'Mined.', content: json(schema('OutboxTransaction')) },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'Conflict',
            'Unprocessable',
            'Unavailable',
          ),
        },
      },
    },
    '/admin/practitioners': {
      post: {
        operationId: 'attestPractitioner',
        summary: 'Attest a practitioner key as staff of this member',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: { required: true, content: json(schema('PractitionerAttestation')) },
        responses: {
          '201': { description: 'Mined.', content: json(schema('OutboxTransaction')) },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'Conflict',
            'PayloadTooLarge',
            'Unprocessable',
            'Unavailable',
          ),
        },
      },
    },
  };
}
