/**
 * The OpenAPI description of the consent-opening route (decision 0013), kept out of openapi.ts so that
 * file does not grow; openapi.ts passes its own helpers in.
 */
import type { Operation, OperationHelpers } from './openapi-types.js';

type Helpers = OperationHelpers<'BadRequest' | 'PayloadTooLarge' | 'Unavailable'>;

export function consentOpeningPaths(h: Helpers): Record<string, Record<string, Operation>> {
  return {
    '/ledger/consent/openings': {
      post: {
        operationId: 'receiveConsentOpening',
        summary: 'Give this node the opening of a grant it must enforce',
        description:
          "The ledger holds only a salted commitment to a grant's terms (categories, purposes). The members that must enforce a grant (the grantee and the members holding the patient's records) receive its opening: the full signed grant with its salt, and the grant id it opens. It is kept, sealed, only if the patient's signature verifies over it and its terms open the commitment (of the grant on the ledger, once indexed); otherwise 400 with the reason (`opening-mismatch`). A grant whose opening a node lacks grants nothing there.",
        tags: ['consent'],
        requestBody: {
          required: true,
          content: h.json({
            type: 'object',
            required: ['grantId', 'grant', 'signature'],
            properties: {
              grantId: h.schema('Bytes32'),
              grant: h.schema('Grant'),
              signature: h.schema('Signature'),
            },
          }),
        },
        responses: {
          '201': {
            description: 'Kept; `onLedger` says whether the grant is already in this node’s index.',
            content: h.json({
              type: 'object',
              required: ['grantId', 'onLedger'],
              properties: { grantId: h.schema('Bytes32'), onLedger: { type: 'boolean' } },
            }),
          },
          ...h.errors('BadRequest', 'PayloadTooLarge', 'Unavailable'),
        },
      } as Operation,
    },
  };
}
