/**
 * The OpenAPI description of consent as FHIR and delegations, kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors, fhirId, fhirJson } from './openapi-helpers.js';
import type { PathItem } from './openapi-types.js';

/** Proxies and guardians: delegations on the ledger, guardians named by the operator. */
export function consentDelegationPaths(): Record<string, PathItem> {
  return {
    '/ledger/consent/delegations': {
      post: {
        operationId: 'relayDelegation',
        summary:
          "Relay a patient-signed appointment of a healthcare proxy (EIP-712 Delegation) with `delegateSignature`, the delegate key's own DelegateKey(ward, delegate) acceptance (a key for this patient only, decision 0021); the proxy may then sign grants and revocations for the patient; ?wait=true answers once mined",
        tags: ['consent'],
        parameters: [
          { name: 'wait', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } },
        ],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '201': { description: 'Mined.', content: { 'application/json': { schema: { type: 'object' } } } },
          '202': {
            description: 'Stored and sent.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Conflict', 'Unavailable'),
        },
      },
    },
    '/admin/guardians': {
      post: {
        operationId: 'attestGuardian',
        summary:
          'Attest the guardian of a minor patient on the ledger (operator token): { patient, guardian, notBefore?, notAfter, guardianSignature }; `guardian` is a delegate key for this ward only and `guardianSignature` its DelegateKey(ward, delegate) acceptance (decision 0021); answers the delegationId',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '201': { description: 'Mined.', content: { 'application/json': { schema: { type: 'object' } } } },
          ...errors('BadRequest', 'Unauthorized', 'Unavailable'),
        },
      },
    },
  };
}

/** Consent as FHIR: create (patient-signed), $revoke, $verify. */
export function fhirConsentPaths(): Record<string, PathItem> {
  return {
    '/fhir/Consent': {
      post: {
        operationId: 'fhirConsentCreate',
        summary:
          "Create a Consent; with the ledger-consent extension (nonce, the patient's EIP-712 signature) it is validated, relayed to ConsentRegistry and stored with its grant id and transaction hash",
        tags: ['fhir'],
        requestBody: { required: true, content: fhirJson },
        responses: {
          '200': { description: 'Already relayed and stored (idempotent retry).', content: fhirJson },
          '201': { description: 'The stored Consent.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'Unavailable'),
        },
      },
    },
    '/fhir/Consent/{id}/$revoke': {
      post: {
        operationId: 'fhirConsentRevoke',
        summary:
          "Revoke a ledger Consent: Parameters with the patient's signed revocation (nonce, signature)",
        tags: ['fhir'],
        parameters: [fhirId],
        requestBody: { required: true, content: fhirJson },
        responses: {
          '200': {
            description: 'The Consent, now inactive, with the revocation transaction.',
            content: fhirJson,
          },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
        },
      },
    },
    '/fhir/Consent/{id}/$verify': {
      get: {
        operationId: 'fhirConsentVerify',
        summary: 'Cross-check a Consent against its grant on the ledger: grantId, onLedger, matches, revoked',
        tags: ['fhir'],
        parameters: [fhirId],
        responses: {
          '200': { description: 'Parameters.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound'),
        },
      },
    },
  };
}
