/**
 * The OpenAPI description of proposing a member's removal (`careledger member propose --remove`), kept
 * out of openapi.ts so that file does not grow; openapi.ts passes its own helpers in.
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

export function memberRemovalPaths(h: Helpers): Record<string, Record<string, Operation>> {
  return {
    '/admin/members/removals': {
      post: {
        operationId: 'proposeMemberRemoval',
        summary: 'Propose (and vote for) the removal of a member',
        description:
          'Creates a removal proposal in ConsortiumRegistry with this member’s vote; it executes at once when the consortium’s threshold is one. `proposalId` is null when no proposal was created, `executed` says whether the member was removed in this transaction.',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: {
          required: true,
          content: h.json({
            type: 'object',
            required: ['account'],
            properties: { account: h.schema('Address') },
          }),
        },
        responses: {
          '201': {
            description: 'Mined.',
            content: h.json({
              allOf: [h.schema('OutboxTransaction')],
              type: 'object',
              required: ['proposalId', 'executed'],
              properties: {
                proposalId: { type: ['string', 'null'] },
                executed: { type: 'boolean' },
              },
            }),
          },
          ...h.errors(
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
      } as Operation,
    },
  };
}
