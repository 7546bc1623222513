/**
 * The OpenAPI description of /admin/credentials (issue 21, decision 0028): issuer-key proposals and
 * votes, a board's records and status changes, the live check's switch, and the practitioners'
 * licence standing. Kept out of openapi.ts so that file does not grow.
 */
import type { Operation, OperationHelpers } from './openapi-types.js';

type ErrorName =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'Conflict'
  | 'PayloadTooLarge'
  | 'Unprocessable'
  | 'Unavailable';

type Helpers = OperationHelpers<ErrorName>;

const TX = {
  type: 'object',
  required: ['txHash'],
  properties: { txHash: { type: 'string', pattern: '^0x[0-9a-f]{64}$' } },
} as const;

export function credentialPaths(h: Helpers): Record<string, Record<string, Operation>> {
  const admin = (operation: Omit<Operation, 'tags' | 'security'>): Operation => ({
    ...operation,
    tags: ['admin'],
    security: [{ operatorToken: [] }],
  });
  const write = (body: Record<string, unknown>, required: string[]) => ({
    required: true,
    content: h.json({ type: 'object', required, properties: body } as never),
  });
  const errors = h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Conflict', 'Unavailable');
  return {
    '/admin/credentials/issuer-keys': {
      post: admin({
        operationId: 'proposeIssuerKey',
        summary: 'A licensing board proposes its issuer key (members then vote for it)',
        requestBody: write({ issuerId: { type: 'string' }, publicJwk: { type: 'object' } }, [
          'issuerId',
          'publicJwk',
        ]),
        responses: {
          '201': {
            description: 'Mined; the board’s proposal counts as its vote.',
            content: h.json({
              ...TX,
              required: ['txHash', 'kid', 'keyThumbprint'],
              properties: { ...TX.properties, kid: { type: 'string' }, keyThumbprint: h.schema('Bytes32') },
            }),
          },
          ...errors,
        },
      }),
    },
    '/admin/credentials/issuer-keys/{board}': {
      get: admin({
        operationId: 'getIssuerKey',
        summary: 'Whether a board’s issuer key is admitted, and the key it proposed',
        parameters: [
          {
            name: 'board',
            in: 'path',
            required: true,
            schema: h.schema('Address'),
            example: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
          },
        ],
        responses: {
          '200': {
            description: 'The board’s standing.',
            content: h.json({
              type: 'object',
              required: ['board', 'admitted', 'pending'],
              properties: {
                board: h.schema('Address'),
                admitted: { type: 'boolean' },
                pending: { type: ['object', 'null'] },
              },
            }),
          },
          ...errors,
        },
      }),
    },
    '/admin/credentials/issuer-keys/votes': {
      post: admin({
        operationId: 'voteIssuerKey',
        summary: 'This member votes for the key a board proposed',
        requestBody: write({ board: h.schema('Address'), keyThumbprint: h.schema('Bytes32') }, [
          'board',
          'keyThumbprint',
        ]),
        responses: {
          '201': {
            description: 'Mined; `admitted` says whether the key is the board’s issuer key now.',
            content: h.json({ ...TX, properties: { ...TX.properties, admitted: { type: 'boolean' } } }),
          },
          ...errors,
        },
      }),
    },
    '/admin/credentials/records': {
      post: admin({
        operationId: 'recordCredential',
        summary: 'A board records what a licence it issued says, under keccak256 of the vc+jwt',
        requestBody: write({ credential: { type: 'string', description: 'The vc+jwt.' } }, ['credential']),
        responses: { '201': { description: 'Mined.', content: h.json(TX) }, ...errors },
      }),
    },
    '/admin/credentials/status': {
      post: admin({
        operationId: 'setCredentialStatus',
        summary: 'A board suspends, reinstates or revokes a licence by its status-list index',
        requestBody: write(
          { index: { type: 'integer', minimum: 0 }, change: { enum: ['suspend', 'reinstate', 'revoke'] } },
          ['index', 'change'],
        ),
        responses: {
          '201': { description: 'Mined: effective in that block.', content: h.json(TX) },
          ...errors,
        },
      }),
    },
    '/admin/credentials/enforcement': {
      get: admin({
        operationId: 'getCredentialEnforcement',
        summary: 'Whether this node refuses practitioners without a valid licence',
        responses: {
          '200': {
            description: 'The switch.',
            content: h.json({
              type: 'object',
              required: ['required'],
              properties: { required: { type: 'boolean' } },
            }),
          },
          ...errors,
        },
      }),
      put: admin({
        operationId: 'setCredentialEnforcement',
        summary: 'Switches the licence check (this process; kept in node.json for the next start)',
        requestBody: write({ required: { type: 'boolean' } }, ['required']),
        responses: {
          '200': {
            description: 'The switch now.',
            content: h.json({
              type: 'object',
              required: ['required'],
              properties: { required: { type: 'boolean' } },
            }),
          },
          ...errors,
        },
      }),
    },
    '/admin/credentials/practitioners': {
      get: admin({
        operationId: 'listPractitionerLicences',
        summary: 'This node’s practitioners by name with their licence’s standing on the ledger now',
        responses: {
          '200': {
            description: '`status` is valid or the refusal reason the live check would give.',
            content: h.json({
              type: 'object',
              required: ['practitioners'],
              properties: { practitioners: { type: 'array', items: { type: 'object' } } },
            }),
          },
          ...errors,
        },
      }),
    },
  };
}
