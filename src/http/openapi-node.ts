/**
 * The OpenAPI description of health, status and the document itself, kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors, json, schema } from './openapi-helpers.js';
import type { PathItem } from './openapi-types.js';

/** Health, status and this document. */
export function nodePaths(): Record<string, PathItem> {
  return {
    '/health': {
      get: {
        operationId: 'getHealth',
        summary: 'Liveness',
        tags: ['node'],
        responses: {
          '200': {
            description: 'The process answers.',
            content: json({ type: 'object', required: ['status'], properties: { status: { const: 'ok' } } }),
          },
        },
      },
    },
    '/status': {
      get: {
        operationId: 'getStatus',
        summary: 'Node identity, chain and contracts, sync lag, outbox and log state',
        description: 'chain.chainId and chain.contracts.consentRegistry make the EIP-712 domain for consent.',
        tags: ['node'],
        responses: {
          '200': { description: 'Status.', content: json(schema('NodeStatus')) },
          ...errors('Unavailable'),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document',
        tags: ['node'],
        responses: { '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) } },
      },
    },
  };
}
