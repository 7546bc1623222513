/**
 * The OpenAPI description of claims at a payer member (issue 20, decision 0019), kept out of
 * openapi.ts so that file does not grow; openapi.ts passes its own helpers in. These routes exist
 * only on a node whose role is `payer` and whose deployment names a ClaimsRegistry.
 */
import type { JsonSchema, Operation, OperationHelpers } from './openapi-types.js';

type ErrorName =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'PreconditionFailed'
  | 'PayloadTooLarge'
  | 'Unprocessable'
  | 'Unavailable';

type Helpers = OperationHelpers<ErrorName>;

const FHIR_JSON = 'application/fhir+json';
const COMMITMENT: JsonSchema = { type: 'string', pattern: '^(0x)?[0-9a-f]{64}$' };
const recorded = {
  description: 'Put in the outbox for ClaimsRegistry; it reaches the chain even across a restart.',
  content: {
    'application/json': {
      schema: { type: 'object', required: ['recorded'], properties: { recorded: { const: true } } },
    },
  },
} as const;

export function claimsPaths(h: Helpers): Record<string, Record<string, Operation>> {
  const operator = (operationId: string, summary: string, body: JsonSchema): Operation => ({
    operationId,
    summary,
    tags: ['admin'],
    security: [{ operatorToken: [] }],
    requestBody: { required: true, content: h.json(body) },
    responses: {
      '202': recorded,
      ...h.errors(
        'BadRequest',
        'Unauthorized',
        'Forbidden',
        'NotFound',
        'PreconditionFailed',
        'Unprocessable',
        'Unavailable',
      ),
    },
  });
  return {
    '/fhir/Claim/$submit': {
      post: {
        operationId: 'submitClaim',
        summary: 'Submit a Claim (or preauthorization) to this payer: FHIR R4 Claim-submit',
        description:
          "Body: a Claim, or a Bundle whose first entry is the Claim. The patient is named by their ledger address (an identifier of Claim.patient, or of the bundled Patient it references). Authorised with a SMART Backend Services token of an active provider, lab or pharmacy member (system scope). The payer checks the patient's HPAYMT grant to it for the categories the claim discloses, its own Coverage, duplicates, the filing window and the amounts, adjudicates against the policy version in force on the service date, stores the Claim, the ClaimResponse (with the engine's recorded inputs) and the patient's ExplanationOfBenefit, and anchors the decision on ClaimsRegistry. A refused claim is a ClaimResponse with outcome `error` and the reason in `error[].code`; malformed input is a 400.",
        tags: ['fhir'],
        requestBody: { required: true, content: { [FHIR_JSON]: { schema: { type: 'object' } } } },
        responses: {
          '200': {
            description: 'The ClaimResponse (decided or refused).',
            content: {
              [FHIR_JSON]: {
                schema: { type: 'object', properties: { resourceType: { const: 'ClaimResponse' } } },
              },
            },
          },
          ...h.errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'PreconditionFailed',
            'PayloadTooLarge',
            'Unprocessable',
            'Unavailable',
          ),
        },
      },
    },
    '/claims/policies': {
      get: {
        operationId: 'listBenefitPolicies',
        summary: "This payer's published benefit policy versions",
        tags: ['ledger'],
        responses: {
          '200': {
            description:
              'Versions, periods and SHA-256 of the canonical policy (as ClaimsRegistry holds it).',
            content: h.json({
              type: 'object',
              required: ['policies'],
              properties: { policies: { type: 'array', items: { type: 'object' } } },
            }),
          },
        },
      },
    },
    '/claims/policies/{version}': {
      get: {
        operationId: 'getBenefitPolicy',
        summary:
          'A published benefit policy, as the payer published it (what `careledger claims verify` takes)',
        tags: ['ledger'],
        parameters: [
          { name: 'version', in: 'path', required: true, schema: { type: 'string' }, example: '2026.1' },
        ],
        responses: {
          '200': { description: 'The policy JSON (decision 0019 §1).', content: h.json({ type: 'object' }) },
          ...h.errors('NotFound'),
        },
      },
    },
    '/claims/commitment-key': {
      get: {
        operationId: 'getClaimCommitmentKey',
        summary: 'The claim commitment key this payer shares with the calling provider member',
        tags: ['ledger'],
        responses: {
          '200': {
            description: 'Hex key for claimCommitment and decisionCommitment (HMAC-SHA-256).',
            content: h.json({
              type: 'object',
              required: ['provider', 'key'],
              properties: { provider: h.schema('Address'), key: { type: 'string' } },
            }),
          },
          ...h.errors('Unauthorized', 'Forbidden'),
        },
      },
    },
    '/admin/claims/policies': {
      post: {
        ...operator('publishBenefitPolicy', 'Publish a benefit policy version (anchored on ClaimsRegistry)', {
          type: 'object',
        }),
        responses: {
          '201': {
            description: 'Mined and kept.',
            content: h.json({
              type: 'object',
              required: ['version', 'sha256'],
              properties: { version: { type: 'string' }, sha256: { type: 'string' } },
            }),
          },
          ...h.errors('BadRequest', 'Unauthorized', 'PreconditionFailed', 'Unprocessable', 'Unavailable'),
        },
      },
    },
    '/admin/claims/settlements': {
      post: operator(
        'recordClaimSettlement',
        'Record a payment to the provider of a decision (amounts only)',
        {
          type: 'object',
          required: ['claimCommitment', 'amountCents'],
          properties: { claimCommitment: COMMITMENT, amountCents: { type: 'integer', minimum: 1 } },
        },
      ),
    },
    '/admin/claims/dispute-resolutions': {
      post: operator('resolveClaimDispute', "Close a provider's dispute with the amount now due", {
        type: 'object',
        required: ['claimCommitment', 'resolution', 'amountDueCents'],
        properties: {
          claimCommitment: COMMITMENT,
          resolution: { type: 'string', description: 'Kept off chain; its keccak256 is recorded.' },
          amountDueCents: { type: 'integer', minimum: 0 },
        },
      }),
    },
  };
}
