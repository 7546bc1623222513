/**
 * The OpenAPI description of `Patient/$identify` (issue 22 item 1), kept out of openapi.ts so that file
 * does not grow; openapi.ts passes its own helpers in.
 */
import type { Operation, OperationHelpers } from './openapi-types.js';

type Helpers = OperationHelpers<'BadRequest' | 'Unauthorized' | 'Forbidden'>;

export function identifyPaths(h: Helpers): Record<string, Record<string, Operation>> {
  return {
    '/fhir/Patient/$identify': {
      get: {
        operationId: 'fhirPatientIdentify',
        summary: "Another member matches a patient's ledger address to this node's Patient id",
        description:
          "For another consortium member (SMART Backend Services token with a purpose of use): a patient's grant in force to the member covering the purpose and any data category lets the member identify the patient here. The answer is a FHIR Parameters resource with the Patient reference (id and ledger-address identifier, no demographics), the purpose, and one `category` per data category the patient's grants cover for it: only those records move (Patient/{id}/$everything). Audited in the patient's access history. An unknown address and a patient who granted nothing get the same 403, whose words say what the grant does not cover.",
        tags: ['fhir'],
        parameters: [
          {
            name: 'identifier',
            in: 'query',
            required: true,
            description: 'https://careledger.dev/fhir/sid/ledger-address|<the patient’s ledger address>',
            schema: {
              type: 'string',
              examples: [
                'https://careledger.dev/fhir/sid/ledger-address|0x71C7656EC7ab88b098defB751B7401B5f6d8976F',
              ],
            },
          },
        ],
        responses: {
          '200': {
            description:
              'Parameters: patient (valueReference), purpose (valueCoding), category (valueCoding, repeated).',
            content: h.json({ type: 'object' }),
          },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden'),
        },
      },
    },
  };
}
