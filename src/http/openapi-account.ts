/**
 * The OpenAPI description of the signed-in user's account and access requests, kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors } from './openapi-helpers.js';
import type { PathItem } from './openapi-types.js';

/** Access requests addressed to the organization. */
export function accessRequestPaths(): Record<string, PathItem> {
  return {
    '/access-requests': {
      post: {
        operationId: 'requestAccess',
        summary:
          'A practitioner asks a patient for access: a proposed Consent, and a notification to the patient',
        tags: ['account'],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', description: '{ patient: FHIR id, purpose?: TREAT }' },
            },
          },
        },
        responses: {
          '201': {
            description:
              'The proposed Consent (status proposed); nothing is granted until the patient signs.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound'),
        },
      },
    },
  };
}

/** The signed-in user's notifications and keystore. */
export function accountPaths(): Record<string, PathItem> {
  return {
    '/notifications': {
      get: {
        operationId: 'listNotifications',
        summary:
          'Notifications for the signed-in user (break-glass on their record; for a privacy officer, every break-glass)',
        tags: ['account'],
        responses: {
          '200': {
            description: '{ notifications }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized'),
        },
      },
    },
    '/notifications/{id}/read': {
      post: {
        operationId: 'readNotification',
        summary: 'Marks a notification read',
        tags: ['account'],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, example: 'n-1' }],
        responses: { '204': { description: 'Marked.' }, ...errors('Unauthorized', 'NotFound') },
      },
    },
    '/patient/keystore': {
      get: {
        operationId: 'getPatientKeystore',
        summary:
          "The signed-in patient's encrypted consent keystore (Web3 Secret Storage; the node cannot open it)",
        description:
          'Only to a token with a scope over the whole record (patient/*.rs or user/*.rs, no query): 403 insufficient_scope otherwise (decision 0031).',
        tags: ['account'],
        responses: {
          '200': {
            description: 'The keystore.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized', 'Forbidden', 'NotFound'),
        },
      },
      put: {
        operationId: 'putPatientKeystore',
        summary: 'Replaces the keystore (new passphrase, or after recovery by guardians); same address only',
        description:
          'Only to a token with patient/*.cruds (or user/*.cruds): 403 insufficient_scope otherwise.',
        tags: ['account'],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '204': { description: 'Stored.' },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden'),
        },
      },
    },
  };
}
