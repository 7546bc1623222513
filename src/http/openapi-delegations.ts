/**
 * The OpenAPI description of ending a proxy's or guardian's delegation (decision 0021), kept out of
 * openapi.ts so that file does not grow; openapi.ts passes its own helpers in.
 */
import type { Operation, OperationHelpers } from './openapi-types.js';

type ErrorName = 'BadRequest' | 'Unauthorized' | 'NotFound' | 'Conflict' | 'Unavailable';

type Helpers = OperationHelpers<ErrorName>;

const delegationId = {
  name: 'delegationId',
  in: 'path',
  required: true,
  description: 'The delegation id (32 bytes as hex), as DelegationRegistered names it.',
  schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' },
  example: `0x${'ab'.repeat(32)}`,
};

export function delegationPaths(h: Helpers): Record<string, Record<string, Operation>> {
  return {
    '/admin/guardians/{delegationId}': {
      delete: {
        operationId: 'endGuardianship',
        summary: 'End a guardianship this member attested (operator token)',
        description:
          'ConsentRegistry.revokeDelegation as the attesting member: emits DelegationRevoked; the guardian’s delegate key can no longer sign for the ward, and the grants it signed stop holding (decision 0021).',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [delegationId],
        responses: {
          '200': { description: 'Mined.', content: h.json(h.schema('OutboxTransaction')) },
          ...h.errors('BadRequest', 'Unauthorized', 'NotFound', 'Unavailable'),
        },
      } as Operation,
    },
    '/ledger/consent/delegations/{delegationId}/revocations': {
      post: {
        operationId: 'relayDelegationRevoke',
        summary: "Relay the patient's signed end of a proxy's appointment; ?wait=true answers once mined",
        description:
          'Body `{ revoke: { patient, grantId: <the delegation id>, nonce }, signature }`: an EIP-712 Revoke the patient signs (not the proxy). Emits DelegationRevoked; the grants the proxy signed stop holding (decision 0021).',
        tags: ['consent'],
        parameters: [
          delegationId,
          { name: 'wait', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } },
        ],
        requestBody: {
          required: true,
          content: h.json({ type: 'object', required: ['revoke', 'signature'] }),
        },
        responses: {
          '201': { description: 'Mined.', content: h.json({ type: 'object' }) },
          '202': { description: 'Stored and sent.', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Conflict', 'Unavailable'),
        },
      } as Operation,
    },
  };
}
