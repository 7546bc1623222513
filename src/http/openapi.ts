/**
 * The node's HTTP API as an OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0), served at
 * GET /openapi.json. Enumerations (categories, purposes, roles, EIP-712 types, error codes) are read
 * from the modules that define them, and openapi.test.ts checks every route the code registers
 * against `paths`, so the document cannot drift from the code.
 */

import { Hono } from 'hono';
import { accessRequestPaths, accountPaths } from './openapi-account.js';
import { adminErasePaths, adminUserPaths, memberProposalPaths, memberVotePaths } from './openapi-admin.js';
import { breakGlassPaths } from './openapi-break-glass.js';
import { bulkExportPaths } from './openapi-bulk-export.js';
import { claimsPaths } from './openapi-claims.js';
import { consentDelegationPaths, fhirConsentPaths } from './openapi-consent.js';
import { consentOpeningPaths } from './openapi-consent-openings.js';
import { credentialPaths } from './openapi-credentials.js';
import { delegationPaths } from './openapi-delegations.js';
import { fetchFromMembersPaths, patientEverywherePaths } from './openapi-exchange.js';
import { fhirRestPaths, fhirRootPaths, fhirTypeHistoryPaths, fhirVersionPaths } from './openapi-fhir.js';
import {
  ERROR_RESPONSES,
  type ErrorResponseName,
  errorResponse,
  errors,
  json,
  schema,
} from './openapi-helpers.js';
import { identifyPaths } from './openapi-identify.js';
import { anchorPaths, ledgerConsentPaths, ledgerPaths } from './openapi-ledger.js';
import { ledgerKeyEnrolmentPaths } from './openapi-ledger-key-enrolment.js';
import { logPaths, logProofPaths } from './openapi-log.js';
import { memberRemovalPaths } from './openapi-member-removals.js';
import { nodePaths } from './openapi-node.js';
import { oauthPaths } from './openapi-oauth.js';
import { patientRightsPaths } from './openapi-patient-rights.js';
import { portalPaths } from './openapi-portal.js';
import { researchPaths } from './openapi-research.js';
import { researchReleasePaths } from './openapi-research-release.js';
import { researchRoundPaths } from './openapi-research-rounds.js';
import { schemas } from './openapi-schemas.js';
import { sharePaths } from './openapi-share.js';
import { supplyPaths } from './openapi-supply.js';
import { terminologyPaths } from './openapi-terminology.js';
import type { OpenApiDocument } from './openapi-types.js';

export { ERROR_RESPONSES } from './openapi-helpers.js';
export * from './openapi-types.js';

// --- The document: each area's paths come from its openapi-<area>.ts; the order of the spreads is the
// order of the published document (a new area appends its spread at the end of `paths`).

export const openApiDocument: OpenApiDocument = {
  openapi: '3.1.0',
  jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
  info: {
    title: 'CareLedger member node API',
    version: '0.1.0',
    description:
      'The HTTP API of one CareLedger member node: patient-signed consent relayed to the consortium ledger and answered from the node’s ledger index; the node’s transparency log (C2SP tlog-tiles, tlog-proof) and its witness for the other members’ logs (C2SP tlog-witness); operator endpoints. Errors are FHIR OperationOutcome. Guide: docs/api.md.',
  },
  tags: [
    { name: 'node', description: 'Health, status and this document.' },
    {
      name: 'fhir',
      description:
        'FHIR R4 REST over the encrypted vault; GET /fhir/metadata is the authoritative description.',
    },
    { name: 'consent', description: 'Patient-signed consent on the ledger.' },
    { name: 'ledger', description: 'Members, sync and transactions from this node’s view of the ledger.' },
    { name: 'log', description: 'The node’s transparency log, https://c2sp.org/tlog-tiles.' },
    { name: 'witness', description: 'https://c2sp.org/tlog-witness for the other members’ logs.' },
    { name: 'admin', description: 'Operator endpoints; bearer token from the node’s folder.' },
    { name: 'supply', description: 'Drug supply chain: EPCIS 2.0 capture and query, verification, recalls.' },
    {
      name: 'oauth',
      description:
        'OAuth 2.0 / OpenID Connect for SMART App Launch v2 (authorization code + PKCE S256) and SMART Backend Services (client credentials, private_key_jwt). Errors follow RFC 6749 §5.2, not OperationOutcome.',
    },
    {
      name: 'account',
      description: 'The signed-in user’s notifications and, for a patient, their encrypted consent keystore.',
    },
  ],
  paths: {
    ...adminErasePaths(),
    ...fhirRootPaths(),
    ...consentDelegationPaths(),
    ...fhirConsentPaths(),
    ...fhirRestPaths(),
    ...bulkExportPaths(),
    ...fhirTypeHistoryPaths(),
    ...breakGlassPaths(),
    ...fhirVersionPaths(),
    ...oauthPaths(),
    ...fetchFromMembersPaths(),
    ...portalPaths(),
    ...accessRequestPaths(),
    ...patientEverywherePaths(),
    ...accountPaths(),
    ...adminUserPaths(),
    ...nodePaths(),
    ...ledgerPaths(),
    ...consentOpeningPaths({ schema, json, errors }),
    ...ledgerKeyEnrolmentPaths({ schema, json, errors }),
    ...ledgerConsentPaths(),
    ...logPaths(),
    ...anchorPaths(),
    ...logProofPaths(),
    ...memberProposalPaths(),
    ...memberRemovalPaths({ schema, json, errors }),
    ...credentialPaths({ schema, json, errors }),
    ...identifyPaths({ schema, json, errors }),
    ...patientRightsPaths({ schema, json, errors }),
    ...sharePaths({ schema, json, errors }),
    ...delegationPaths({ schema, json, errors }),
    ...terminologyPaths({ schema, json, errors }),
    ...claimsPaths({ schema, json, errors }),
    ...supplyPaths({ schema, json, errors }),
    ...researchPaths({ schema, json, errors }),
    ...researchReleasePaths({ schema, json, errors }),
    ...researchRoundPaths({ schema, json, errors }),
    ...memberVotePaths(),
  },
  components: {
    schemas,
    responses: Object.fromEntries(
      (Object.keys(ERROR_RESPONSES) as ErrorResponseName[]).map((name) => [name, errorResponse(name)]),
    ),
    securitySchemes: {
      operatorToken: {
        type: 'http',
        scheme: 'bearer',
        description: 'The node operator token, a random secret kept (mode 0600) in the node’s folder.',
      },
    },
  },
};

/** Serves the document at GET /openapi.json; mount with `app.route('/', createOpenApiRoute())`. */
export function createOpenApiRoute(): Hono {
  const app = new Hono();
  app.get('/openapi.json', (c) => c.json(openApiDocument));
  return app;
}
