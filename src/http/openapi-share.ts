/**
 * The OpenAPI description of the telehealth share (issue 22, decision 0030), kept out of openapi.ts so
 * that file does not grow; openapi.ts passes its own helpers in.
 */
import type { Operation, OperationHelpers } from './openapi-types.js';

type Helpers = OperationHelpers<
  'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'Gone' | 'TooManyRequests'
>;

const SHARE_ID = {
  name: 'id',
  in: 'path' as const,
  required: true,
  description: 'The share id.',
  schema: { type: 'string' as const },
  example: 'b1f0c2d4e6a8',
};

/** The headers share-routes.ts reads (security review F14: not `Authorization`, which answers 410). */
const SESSION = [
  {
    name: 'X-Share-Link',
    in: 'header' as const,
    required: true,
    description: 'The link secret of the share (the `link` given to POST /shared/{id}/open).',
    schema: { type: 'string' as const },
  },
  {
    name: 'X-Share-Session',
    in: 'header' as const,
    required: true,
    description: 'The viewing session POST /shared/{id}/open returned (`session`).',
    schema: { type: 'string' as const },
  },
];

export function sharePaths(h: Helpers): Record<string, Record<string, Operation>> {
  const json = h.json({ type: 'object' });
  return {
    '/shares': {
      post: {
        operationId: 'shareCreate',
        summary: 'The patient shares chosen categories with a clinician outside the consortium',
        description:
          'For the signed-in patient: `{ categories, hours (1–72), purposeText, recipient }`. Answers the share, a link and a one-time code (shown once; only hashes are kept): give the code separately from the link.',
        tags: ['account'],
        requestBody: { required: true, content: json },
        responses: {
          '201': { description: '{ share, link, code }', content: json },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden'),
        },
      } as Operation,
      get: {
        operationId: 'shareList',
        summary: "The patient's shares (no secrets)",
        tags: ['account'],
        responses: {
          '200': { description: '{ shares }', content: json },
          ...h.errors('Unauthorized', 'Forbidden'),
        },
      } as Operation,
    },
    '/shares/{id}/revoke': {
      post: {
        operationId: 'shareRevoke',
        summary: 'The patient revokes a share: access stops at once',
        tags: ['account'],
        parameters: [SHARE_ID],
        responses: {
          '200': { description: '{ share }', content: json },
          ...h.errors('Unauthorized', 'Forbidden', 'NotFound'),
        },
      } as Operation,
    },
    '/shared/{id}/open': {
      post: {
        operationId: 'sharedOpen',
        summary: 'The outside clinician opens a share with its link secret and one-time code',
        description:
          '`{ link, code }`: the code opens one viewing session (a second use is refused); wrong codes are throttled per share and per address (429).',
        tags: ['account'],
        parameters: [SHARE_ID],
        requestBody: { required: true, content: json },
        responses: {
          '200': { description: '{ session, share }', content: json },
          ...h.errors('BadRequest', 'Forbidden', 'Gone', 'TooManyRequests'),
        },
      } as Operation,
    },
    '/shared/{id}/records': {
      get: {
        operationId: 'sharedRecords',
        summary: "The shared categories of the patient's records, read-only; every read audited",
        tags: ['account'],
        parameters: [
          SHARE_ID,
          ...SESSION,
          {
            name: 'category',
            in: 'query',
            required: false,
            description: 'One of the shared data categories (another is 403, audited).',
            schema: { type: 'string' },
          },
        ],
        responses: {
          '200': { description: 'A FHIR Bundle of the shared records.', content: json },
          ...h.errors('Unauthorized', 'Forbidden', 'Gone'),
        },
      } as Operation,
    },
    '/shared/{id}/summary': {
      get: {
        operationId: 'sharedSummary',
        summary: 'The International Patient Summary of the shared records, signed by the member',
        description:
          'Needs Demographics in the share. The signature is checked without the chain against GET /.well-known/careledger-document-signer.',
        tags: ['account'],
        parameters: [SHARE_ID, ...SESSION],
        responses: {
          '200': { description: 'A signed FHIR document Bundle (IPS).', content: json },
          ...h.errors('Unauthorized', 'Forbidden', 'Gone'),
        },
      } as Operation,
    },
    '/.well-known/careledger-document-signer': {
      get: {
        operationId: 'documentSigner',
        summary: "The address whose key signs this member's documents (IPS)",
        tags: ['node'],
        responses: { '200': { description: '{ address, organization }', content: json } },
      } as Operation,
    },
  };
}
