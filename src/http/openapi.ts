/**
 * The node's HTTP API as an OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0), served at
 * GET /openapi.json. Enumerations (categories, purposes, roles, EIP-712 types, error codes) are read
 * from the modules that define them, and openapi.test.ts checks every route the code registers
 * against `paths`, so the document cannot drift from the code.
 */
import { Hono } from 'hono';
import type { ConsentDecision } from '../consent/index.js';
import { ERROR_CODES } from '../errors/index.js';
import { ISSUE_TYPES } from '../fhir/fhir-issue.js';
import { ERROR_CODE_SYSTEM } from '../fhir/operation-outcome.js';
import {
  ALL_DATA_CATEGORIES,
  ALL_PURPOSES_OF_USE,
  CONSENT_DOMAIN_NAME,
  CONSENT_DOMAIN_VERSION,
  consentTypes,
  DATA_CATEGORIES,
  MEMBER_ROLES,
  type OutboxStatus,
  PURPOSES_OF_USE,
} from '../ledger/index.js';
import { MAX_ADD_CHECKPOINT_BODY, TLOG_SIZE_CONTENT_TYPE } from '../log/witness.js';
import { HTTP_STATUS } from './error-response.js';
import { claimsPaths } from './openapi-claims.js';
import { consentOpeningPaths } from './openapi-consent-openings.js';
import { credentialPaths } from './openapi-credentials.js';
import { delegationPaths } from './openapi-delegations.js';
import { identifyPaths } from './openapi-identify.js';
import { ledgerKeyEnrolmentPaths } from './openapi-ledger-key-enrolment.js';
import { memberRemovalPaths } from './openapi-member-removals.js';
import { patientRightsPaths } from './openapi-patient-rights.js';
import { researchPaths } from './openapi-research.js';
import { researchReleasePaths } from './openapi-research-release.js';
import { sharePaths } from './openapi-share.js';
import { supplyPaths } from './openapi-supply.js';
import { terminologyPaths } from './openapi-terminology.js';
import { SUPPORTED_RESOURCE_TYPES } from './routes/fhir-routes.js';

export * from './openapi-types.js';

import type {
  Header,
  JsonSchema,
  JsonType,
  OpenApiDocument,
  Operation,
  Parameter,
  Reference,
  Response,
} from './openapi-types.js';

// --- Building blocks --------------------------------------------------------------------------------

const TEXT = 'text/plain; charset=utf-8';
const OCTETS = 'application/octet-stream';
const JSON_TYPE = 'application/json';
/** create-node-app.ts answers thrown errors with this media type. */
const FHIR_JSON = 'application/fhir+json';

const schema = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const response = (name: string): Reference => ({ $ref: `#/components/responses/${name}` });
const json = (body: JsonSchema) => ({ [JSON_TYPE]: { schema: body } });
const fhirJson = {
  'application/fhir+json': {
    schema: {
      type: 'object',
      required: ['resourceType'],
      properties: { resourceType: { type: 'string' } },
    } as JsonSchema,
  },
};
const fhirType = {
  name: 'type',
  in: 'path' as const,
  required: true,
  schema: { enum: [...SUPPORTED_RESOURCE_TYPES] },
  example: 'Observation',
};
const fhirId = {
  name: 'id',
  in: 'path' as const,
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' } as JsonSchema,
  example: 'example-1',
};
/** FHIR Bulk Data v2 `$export` (src/export): kick-off at three levels, status, deletion, files. */
function bulkExportPaths(): Record<string, Record<string, Operation>> {
  const kickOffParameters: Parameter[] = [
    { name: 'Prefer', in: 'header', required: true, schema: { type: 'string' }, example: 'respond-async' },
    {
      name: '_type',
      in: 'query',
      required: false,
      schema: { type: 'string' },
      example: 'Patient,Observation',
    },
    { name: '_since', in: 'query', required: false, schema: { type: 'string', format: 'date-time' } },
    {
      name: '_typeFilter',
      in: 'query',
      required: false,
      description: 'Type?search-query, run as a search; repeated or comma-separated queries are ORed.',
      schema: { type: 'string' },
    },
    {
      name: '_outputFormat',
      in: 'query',
      required: false,
      schema: { enum: ['application/fhir+ndjson', 'application/ndjson', 'ndjson'] },
    },
  ];
  const kickOff = (operationId: string, level: string, extra: Parameter[] = []): Operation => ({
    operationId,
    summary: `Bulk Data $export kick-off, ${level} (Prefer: respond-async); the job runs in the background`,
    tags: ['fhir'],
    parameters: [...extra, ...kickOffParameters],
    responses: {
      '202': {
        description: 'Accepted: poll the Content-Location for the status.',
        headers: { 'Content-Location': { description: 'The status URL.', schema: { type: 'string' } } },
        content: fhirJson,
      },
      ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
    },
  });
  const job: Parameter = {
    name: 'job',
    in: 'path',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' },
    example: 'f3c1a2b4-0000-4000-8000-000000000001',
  };
  const file: Parameter = {
    name: 'file',
    in: 'path',
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z]{1,64}(-[0-9]{1,6})?\\.ndjson$' },
    example: 'Observation-1.ndjson',
  };
  const both = (id: string, level: string, extra: Parameter[] = []) => ({
    get: kickOff(id, level, extra),
    post: {
      ...kickOff(`${id}Post`, `${level}, parameters in a Parameters body`, extra),
      requestBody: { content: fhirJson },
    },
  });
  return {
    '/fhir/$export': both('bulkExportSystem', 'every record the requester may read'),
    '/fhir/Patient/$export': both('bulkExportPatients', "every patient's compartment"),
    '/fhir/Group/{id}/$export': both('bulkExportGroup', "the compartments of the Group's Patient members", [
      fhirId,
    ]),
    '/fhir/$export-status/{job}': {
      get: {
        operationId: 'bulkExportStatus',
        summary: 'Status of an export job (its requester only)',
        tags: ['fhir'],
        parameters: [job],
        responses: {
          '200': {
            description:
              'Done: the manifest (transactionTime, request, requiresAccessToken, output[], error[]).',
            content: json({ type: 'object' }),
          },
          '202': {
            description: 'Running: X-Progress says how far, Retry-After when to ask again.',
            headers: {
              'X-Progress': { description: 'Progress.', schema: { type: 'string' } },
              'Retry-After': RETRY_AFTER,
            },
          },
          ...errors('Unauthorized', 'NotFound', 'Gone', 'InternalError'),
        },
      },
      delete: {
        operationId: 'bulkExportDelete',
        summary: 'Deletes an export job and its files (stops it if running)',
        tags: ['fhir'],
        parameters: [job],
        responses: {
          '202': { description: 'Deleted.', content: fhirJson },
          ...errors('Unauthorized', 'NotFound'),
        },
      },
    },
    '/fhir/$export-file/{job}/{file}': {
      get: {
        operationId: 'bulkExportFile',
        summary: 'One NDJSON file of a completed export, decrypted as it streams (its requester only)',
        tags: ['fhir'],
        parameters: [job, file],
        responses: {
          '200': {
            description: 'FHIR NDJSON.',
            content: { 'application/fhir+ndjson': { schema: { type: 'string' } } },
          },
          ...errors('Unauthorized', 'NotFound', 'Gone', 'InternalError'),
        },
      },
    },
  };
}

const text = (description: string): Response => ({
  description,
  content: { [TEXT]: { schema: { type: 'string' } } },
});

const HEX = (bytes: number): string => `^0x[0-9a-fA-F]{${bytes * 2}}$`;

/** The error codes that answer with `status` (from HTTP_STATUS). */
function codesFor(status: number): string {
  const codes = ERROR_CODES.filter((code) => HTTP_STATUS[code] === status);
  return codes.length === 0 ? '' : ` Codes: ${codes.join(', ')}.`;
}

/** The shared error responses (components.responses) and their statuses. */
export const ERROR_RESPONSES = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  NotAcceptable: 406,
  Gone: 410,
  PreconditionFailed: 412,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Unprocessable: 422,
  TooManyRequests: 429,
  InternalError: 500,
  BadGateway: 502,
  Unavailable: 503,
} as const;
type ErrorResponseName = keyof typeof ERROR_RESPONSES;

const ERROR_TEXT: Record<ErrorResponseName, string> = {
  BadRequest: 'The request is malformed, or a signature does not recover to the patient.',
  Unauthorized: 'The operator bearer token is missing or wrong.',
  Forbidden: 'Refused: not a member, not permitted, or consent denied.',
  NotFound: 'No such resource (or no such route).',
  Conflict: 'Conflicts with ledger or log state, e.g. a consent nonce already used or out of order.',
  NotAcceptable: 'Only JSON is served (_format or Accept named XML or another format).',
  Gone: 'The resource existed but was erased.',
  UnsupportedMediaType: 'The body is not JSON (FHIR XML is not read), or a PATCH body of another type.',
  PayloadTooLarge: 'The request body is larger than the node accepts.',
  Unprocessable:
    'Well-formed, but the chain reverted it, a log object does not verify, or a patch does not fit the resource.',
  TooManyRequests:
    'Too many failed sign-in or one-time-code attempts for this account or client (RFC 4226 §7.3), or the node is shedding load; retry after Retry-After seconds.',
  InternalError: 'An unexpected failure; the node logged the details.',
  BadGateway: 'Another member node failed or could not be reached.',
  Unavailable: 'The chain, the storage or the transparency log is unavailable for now; retry.',
  PreconditionFailed:
    'If-Match named a version that is no longer the current one, or a conditional interaction matched several resources.',
};

const outcomeContent = { [FHIR_JSON]: { schema: schema('OperationOutcome') } };
/** A PATCH body: an RFC 6902 JSON Patch, or a FHIRPath Patch (a Parameters resource). */
const patchContent = {
  'application/json-patch+json': { schema: { type: 'array', items: { type: 'object' } } as JsonSchema },
  [FHIR_JSON]: {
    schema: {
      type: 'object',
      description: 'A FHIRPath Patch: a Parameters resource of operations.',
    } as JsonSchema,
  },
};

const RETRY_AFTER: Header = {
  description: 'Seconds to wait before retrying (RFC 9110 §10.2.3).',
  required: true,
  schema: { type: 'integer', minimum: 0 },
};

function errorResponse(name: ErrorResponseName): Response {
  const status = ERROR_RESPONSES[name];
  return {
    description: `${ERROR_TEXT[name]} A FHIR OperationOutcome whose issue[0].details holds the error code (text, and coding with system ${ERROR_CODE_SYSTEM}).${codesFor(status)}`,
    ...(status === 503 || status === 429 ? { headers: { 'Retry-After': RETRY_AFTER } } : {}),
    ...(status === 401
      ? {
          headers: {
            'WWW-Authenticate': {
              description: 'RFC 6750 §3 challenge.',
              required: true,
              schema: { type: 'string', examples: ['Bearer realm="careledger-admin"'] },
            },
          },
        }
      : {}),
    content: outcomeContent,
  };
}

function errors(...names: ErrorResponseName[]): Record<string, Reference> {
  const all: ErrorResponseName[] = [...names, 'InternalError'];
  return Object.fromEntries(all.map((name) => [String(ERROR_RESPONSES[name]), response(name)]));
}

/** Errors of the log routes that are not part of tlog-tiles: OperationOutcome as plain JSON. */
const logErrorResponse = (description: string): Response => ({
  description: `${description} (a FHIR OperationOutcome).`,
  content: { [JSON_TYPE]: { schema: schema('OperationOutcome') } },
});

function bitTable(table: Readonly<Record<string, { readonly bit: number; readonly display: string }>>) {
  return Object.entries(table)
    .map(([name, info]) => `\`${name}\` = bit ${info.bit} (${info.display})`)
    .join('; ');
}

function typeString(primary: keyof typeof consentTypes): string {
  const own = `${primary}(${consentTypes[primary].map((field) => `${field.type} ${field.name}`).join(',')})`;
  // EIP-712 encodeType: a Grant references Terms, appended after it.
  return primary === 'Grant' ? own + typeString('Terms') : own;
}

/** The EIP-712 types a primary type needs: a Grant nests its Terms (decision 0013). */
const typesOf = (
  primary: keyof typeof consentTypes,
): Record<string, readonly { readonly name: string; readonly type: string }[]> =>
  primary === 'Grant'
    ? { Grant: consentTypes.Grant, Terms: consentTypes.Terms }
    : { [primary]: consentTypes[primary] };

function eip712Description(primary: keyof typeof consentTypes, what: string): string {
  const fields = Object.entries(typesOf(primary))
    .map(
      ([name, list]) =>
        `${name}: [${list.map((f) => `{ name: '${f.name}', type: '${f.type}' }`).join(', ')}]`,
    )
    .join(', ');
  return [
    `${what} The patient signs it with their own key as EIP-712 typed data (primaryType \`${primary}\`):`,
    '',
    '```',
    `domain = { name: '${CONSENT_DOMAIN_NAME}', version: '${CONSENT_DOMAIN_VERSION}',`,
    '           chainId: <GET /status → chain.chainId>,',
    '           verifyingContract: <GET /status → chain.contracts.consentRegistry> }',
    `types  = { ${fields} }`,
    `encodeType = ${typeString(primary)}`,
    '```',
    '',
    'Nonces are per patient and shared by grants and revocations: use ConsentRegistry.nonces(patient).',
  ].join('\n');
}

const eip712Extension = (primary: keyof typeof consentTypes) => ({
  primaryType: primary,
  domain: { name: CONSENT_DOMAIN_NAME, version: CONSENT_DOMAIN_VERSION },
  domainFrom: {
    chainId: 'GET /status → chain.chainId',
    verifyingContract: 'GET /status → chain.contracts.consentRegistry',
  },
  types: typesOf(primary),
});

/** Exhaustive by type: a new denial reason or outbox status does not compile until it is listed. */
const DENIAL_REASONS: Record<Extract<ConsentDecision, { allowed: false }>['reason'], true> = {
  'no-grant': true,
  revoked: true,
  'not-yet-valid': true,
  expired: true,
  'not-covered': true,
  'opening-missing': true,
  'opening-mismatch': true,
  'delegation-not-in-force': true,
};
const DECISION_VIA: Record<Extract<ConsentDecision, { allowed: true }>['via'], true> = {
  grantee: true,
  organization: true,
};
const OUTBOX_STATUSES: Record<OutboxStatus, true> = { sent: true, confirmed: true, failed: true };

const uint = (description: string, maxHexDigits = 64): JsonSchema => ({
  description: `${description} A non-negative integer: a decimal string, a 0x hex string, or a JSON number up to 2^53 - 1.`,
  type: ['string', 'integer'],
  pattern: `^(0|[1-9][0-9]{0,77}|0x[0-9a-fA-F]{1,${maxHexDigits}})$`,
  minimum: 0,
});

const nullable = (type: JsonType): JsonType[] => [type, 'null'];

// --- Schemas -------------------------------------------------------------------------------------

const schemas: Record<string, JsonSchema> = {
  Address: {
    description: 'A 20-byte Ethereum address, hex (any case; answers use the EIP-55 checksum).',
    type: 'string',
    pattern: HEX(20),
    examples: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8'],
  },
  Bytes32: { type: 'string', pattern: HEX(32) },
  Hex: { type: 'string', pattern: '^0x([0-9a-fA-F]{2})*$' },
  Signature: {
    description: 'A 65-byte secp256k1 signature (r ‖ s ‖ v), as signTypedData returns it.',
    type: 'string',
    pattern: HEX(65),
  },
  DataCategory: {
    description: `A data category; on chain it is one bit of a uint256 mask: ${bitTable(DATA_CATEGORIES)}.`,
    type: 'string',
    enum: ALL_DATA_CATEGORIES,
  },
  PurposeOfUse: {
    description: `An HL7 v3 ActReason purpose of use; on chain one bit of a uint256 mask: ${bitTable(PURPOSES_OF_USE)}. Bits are independent: TREAT does not imply ETREAT.`,
    type: 'string',
    enum: ALL_PURPOSES_OF_USE,
  },
  MemberRole: { type: 'string', enum: Object.keys(MEMBER_ROLES) },
  Grant: {
    description: eip712Description(
      'Grant',
      'A patient’s consent grant, as ConsentRegistry defines it. The body is flat; the signed message nests categories, purposes and salt as `terms`, and the ledger receives only their EIP-712 hash (a salted commitment, decision 0013).',
    ),
    type: 'object',
    required: ['patient', 'grantee', 'categories', 'purposes', 'salt', 'notBefore', 'notAfter', 'nonce'],
    properties: {
      patient: { ...schema('Address'), description: 'The patient; the signature must recover to it.' },
      grantee: { ...schema('Address'), description: 'A member organization or a practitioner.' },
      categories: uint(
        `Bitmask of data categories (at least one, known bits only): ${bitTable(DATA_CATEGORIES)}.`,
      ),
      purposes: uint(
        `Bitmask of purposes of use (at least one, known bits only): ${bitTable(PURPOSES_OF_USE)}.`,
      ),
      salt: {
        ...schema('Bytes32'),
        description: '32 random bytes, fresh for every grant: the salt of the terms’ commitment.',
      },
      notBefore: uint('Unix seconds, inclusive (uint64).', 16),
      notAfter: uint('Unix seconds, exclusive (uint64); later than notBefore.', 16),
      nonce: uint('The patient’s next nonce.'),
    },
    'x-eip712': eip712Extension('Grant'),
  },
  Revoke: {
    description: eip712Description('Revoke', 'A patient’s revocation of one of their grants.'),
    type: 'object',
    required: consentTypes.Revoke.map((f) => f.name),
    properties: {
      patient: schema('Address'),
      grantId: { ...schema('Bytes32'), description: 'The id of the grant to revoke.' },
      nonce: uint('The patient’s next nonce.'),
    },
    'x-eip712': eip712Extension('Revoke'),
  },
  SignedGrant: {
    type: 'object',
    required: ['grant', 'signature'],
    properties: { grant: schema('Grant'), signature: schema('Signature') },
  },
  SignedRevoke: {
    type: 'object',
    required: ['revoke', 'signature'],
    properties: { revoke: schema('Revoke'), signature: schema('Signature') },
  },
  MemberCandidate: {
    description: 'An organization proposed for admission to the consortium.',
    type: 'object',
    required: ['account', 'name', 'role', 'fhirBaseUrl', 'logOrigin', 'logVerifierKey'],
    properties: {
      account: schema('Address'),
      name: { type: 'string', minLength: 1 },
      role: schema('MemberRole'),
      fhirBaseUrl: { type: 'string', minLength: 1, format: 'uri' },
      logOrigin: { type: 'string', minLength: 1, description: 'The C2SP checkpoint origin of its log.' },
      logVerifierKey: {
        type: 'string',
        minLength: 1,
        description: 'The signed-note verifier key of its log.',
      },
      encryptionPublicKey: { ...schema('Hex'), description: 'Default 0x.' },
    },
  },
  PractitionerAttestation: {
    description:
      'This member attests that a practitioner key belongs to one of its staff. With `credential` (their licence, a vc+jwt verified on the ledger) the hash, qualification and expiry come from it; without it the other fields are required, and a node that requires licences refuses (decision 0028).',
    type: 'object',
    required: ['practitioner'],
    properties: {
      practitioner: schema('Address'),
      credential: { type: 'string', description: 'The licence as vc+jwt.' },
      credentialHash: {
        ...schema('Bytes32'),
        description: 'A keyed hash of the credential, never the credential.',
      },
      qualificationCode: { type: 'string', minLength: 1 },
      expiresAt: {
        description: 'Unix seconds.',
        type: ['integer', 'string'],
        pattern: '^[1-9][0-9]*$',
        minimum: 1,
      },
    },
  },
  OperationOutcome: {
    description:
      'FHIR R4 OperationOutcome (http://hl7.org/fhir/R4/operationoutcome.html), the shape of every error. issue[0] reports the error; further issues (e.g. FHIR validation findings) may follow.',
    type: 'object',
    required: ['resourceType', 'issue'],
    properties: {
      resourceType: { const: 'OperationOutcome' },
      issue: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          required: ['severity', 'code'],
          properties: {
            severity: { enum: ['fatal', 'error', 'warning', 'information'] },
            code: { enum: ISSUE_TYPES, description: 'R4 IssueType.' },
            diagnostics: { type: 'string', description: 'A sentence for people; never PHI.' },
            details: {
              type: 'object',
              description: 'On issue[0]: the CareLedger error code, to switch on.',
              properties: {
                coding: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['system', 'code'],
                    properties: { system: { const: ERROR_CODE_SYSTEM }, code: { enum: ERROR_CODES } },
                  },
                },
                text: { enum: ERROR_CODES },
              },
            },
            expression: { type: 'array', items: { type: 'string' }, description: 'FHIRPath of the element.' },
          },
        },
      },
    },
  },
  SyncStatus: {
    description: 'How far this node’s ledger index has followed the chain.',
    type: 'object',
    required: ['headBlock', 'indexedBlock', 'lagBlocks', 'lagSeconds', 'lastError', 'reorgs', 'events'],
    properties: {
      headBlock: { type: nullable('integer') },
      indexedBlock: { type: nullable('integer') },
      lagBlocks: { type: nullable('integer') },
      lagSeconds: { type: nullable('number'), description: 'Age of the newest indexed block.' },
      lastError: { type: nullable('string') },
      reorgs: { type: 'integer' },
      events: { type: 'integer' },
    },
  },
  LogStatus: {
    type: 'object',
    required: [
      'origin',
      'size',
      'checkpointSize',
      'cosignedSize',
      'witnesses',
      'anchoredSize',
      'lastAnchorError',
    ],
    properties: {
      origin: { type: 'string' },
      size: { type: 'integer' },
      checkpointSize: { type: nullable('integer') },
      cosignedSize: { type: nullable('integer') },
      witnesses: {
        type: 'object',
        required: ['total', 'quorum'],
        properties: { total: { type: 'integer' }, quorum: { type: 'integer' } },
      },
      anchoredSize: { type: nullable('integer') },
      lastAnchorError: { type: nullable('string') },
    },
  },
  NodeStatus: {
    type: 'object',
    required: [
      'name',
      'organization',
      'role',
      'address',
      'publicUrl',
      'logOrigin',
      'chain',
      'sync',
      'outbox',
      'log',
    ],
    properties: {
      name: { type: 'string' },
      organization: { type: 'string' },
      role: schema('MemberRole'),
      address: { ...schema('Address'), description: 'The node’s ledger account (it relays and pays gas).' },
      publicUrl: { type: 'string' },
      logOrigin: { type: 'string' },
      chain: {
        type: 'object',
        required: ['rpcUrl', 'chainId', 'contracts'],
        properties: {
          rpcUrl: { type: 'string' },
          chainId: { type: 'integer', description: 'The EIP-712 domain chainId.' },
          contracts: {
            type: 'object',
            required: ['consortiumRegistry', 'consentRegistry', 'checkpointAnchor'],
            properties: {
              consortiumRegistry: schema('Address'),
              consentRegistry: { ...schema('Address'), description: 'The EIP-712 domain verifyingContract.' },
              checkpointAnchor: schema('Address'),
              recordLocator: {
                ...schema('Address'),
                description: 'Absent for deployments made before RecordLocator existed.',
              },
            },
          },
        },
      },
      sync: schema('SyncStatus'),
      outbox: {
        type: 'object',
        description: 'Transactions this node sent, by status.',
        required: Object.keys(OUTBOX_STATUSES),
        properties: Object.fromEntries(Object.keys(OUTBOX_STATUSES).map((s) => [s, { type: 'integer' }])),
      },
      log: schema('LogStatus'),
    },
  },
  OutboxTransaction: {
    description: 'A transaction this node signed and stored in its outbox (stored = acknowledged).',
    type: 'object',
    required: ['outboxId', 'txHash', 'status'],
    properties: {
      outboxId: { type: 'integer' },
      txHash: schema('Bytes32'),
      status: { enum: Object.keys(OUTBOX_STATUSES) },
      blockNumber: { type: nullable('integer') },
      receiptStatus: { enum: ['success', 'reverted', null] },
    },
  },
  RelayReceipt: {
    allOf: [
      schema('OutboxTransaction'),
      {
        type: 'object',
        required: ['grantId', 'logIndex', 'logProof'],
        properties: {
          grantId: schema('Bytes32'),
          logIndex: {
            type: 'integer',
            minimum: 0,
            description: "The relay's entry in this node's transparency log.",
          },
          logProof: {
            type: 'string',
            description: 'Path of the C2SP tlog-proof of that entry, e.g. /log/proof/12.',
          },
        },
      },
    ],
  },
  ProposalReceipt: {
    allOf: [
      schema('OutboxTransaction'),
      {
        type: 'object',
        required: ['proposalId', 'executed'],
        properties: {
          proposalId: { type: nullable('string'), pattern: '^[0-9]+$' },
          executed: {
            type: 'boolean',
            description: 'True when this proposal already reached its threshold.',
          },
        },
      },
    ],
  },
  GrantRecord: {
    description:
      'A grant as this node’s ledger index holds it: its terms only as their salted commitment (decision 0013).',
    type: 'object',
    required: [
      'grantId',
      'patient',
      'grantee',
      'termsHash',
      'notBefore',
      'notAfter',
      'nonce',
      'revokedAt',
      'blockNumber',
      'txHash',
    ],
    properties: {
      grantId: schema('Bytes32'),
      patient: schema('Address'),
      grantee: schema('Address'),
      termsHash: {
        ...schema('Bytes32'),
        description: 'EIP-712 hashStruct(Terms(categories, purposes, salt)).',
      },
      notBefore: { type: 'integer' },
      notAfter: { type: 'integer' },
      nonce: { type: 'string', pattern: '^[0-9]+$' },
      revokedAt: { type: nullable('integer') },
      blockNumber: { type: 'integer' },
      txHash: schema('Bytes32'),
    },
  },
  Member: {
    type: 'object',
    required: [
      'address',
      'name',
      'role',
      'fhirBaseUrl',
      'logOrigin',
      'logVerifierKey',
      'encryptionPublicKey',
      'status',
      'admittedBlock',
    ],
    properties: {
      address: schema('Address'),
      name: { type: 'string' },
      role: {
        type: 'string',
        enum: Object.keys(MEMBER_ROLES),
        description: 'The member role by name (on chain a uint8 of ConsortiumRegistry).',
      },
      fhirBaseUrl: { type: 'string' },
      logOrigin: { type: 'string' },
      logVerifierKey: { type: 'string' },
      encryptionPublicKey: schema('Hex'),
      status: { enum: ['active', 'removed'] },
      admittedBlock: { type: 'integer' },
    },
  },
  ConsentDecision: {
    description:
      'Decided from this node’s ledger index as of indexedBlock (the rule of ConsentRegistry.isPermitted).',
    oneOf: [
      {
        type: 'object',
        required: ['allowed', 'grantId', 'via', 'indexedBlock'],
        properties: {
          allowed: { const: true },
          grantId: schema('Bytes32'),
          via: {
            enum: Object.keys(DECISION_VIA),
            description:
              'organization: a grant to the organization that attests the grantee as its practitioner.',
          },
          indexedBlock: { type: nullable('integer') },
        },
      },
      {
        type: 'object',
        required: ['allowed', 'reason', 'indexedBlock'],
        properties: {
          allowed: { const: false },
          reason: { enum: Object.keys(DENIAL_REASONS) },
          indexedBlock: { type: nullable('integer') },
        },
      },
    ],
  },
};

// --- Parameters ----------------------------------------------------------------------------------

const addressQuery = (name: string, required: boolean, description: string): Parameter => ({
  name,
  in: 'query',
  required,
  description,
  schema: schema('Address'),
  example: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
});

const waitQuery: Parameter = {
  name: 'wait',
  in: 'query',
  description: 'true: answer 201 once the transaction is mined (up to 30 s); otherwise 202 once stored.',
  schema: { type: 'string', enum: ['true', 'false'] },
};

const tileLevel: Parameter = {
  name: 'L',
  in: 'path',
  required: true,
  description: 'Tile level, 0..63.',
  schema: { type: 'string', pattern: '^(0|[1-9][0-9]?)$' },
  example: '0',
};
const tileIndex: Parameter = {
  name: 'N',
  in: 'path',
  required: true,
  description:
    'Tile index in 3-digit groups, all but the last prefixed by x (1234067 → x001/x234/067). It may contain "/", which plain path templating cannot express: clients insert it verbatim.',
  schema: { type: 'string', pattern: '^(x[0-9]{3}/)*[0-9]{3}$' },
  example: 'x001/234',
};
const tileWidth: Parameter = {
  name: 'W',
  in: 'path',
  required: true,
  description: 'Width of a partial tile, 1..255.',
  schema: { type: 'string', pattern: '^[1-9][0-9]{0,2}$' },
  example: '17',
};

function tileOperation(kind: 'hashes' | 'entries', partial: boolean): Operation {
  const what =
    kind === 'hashes'
      ? 'A Merkle tree tile: up to 256 hashes of 32 bytes (c2sp.org/tlog-tiles "Merkle Tree").'
      : 'An entry bundle: up to 256 entries, each a big-endian uint16 length and the entry (c2sp.org/tlog-tiles "Log Entries").';
  return {
    operationId: `getLog${kind === 'hashes' ? 'Tile' : 'EntryBundle'}${partial ? 'Partial' : ''}`,
    summary: `${kind === 'hashes' ? 'Hash tile' : 'Entry bundle'}${partial ? ' (partial)' : ''}`,
    description: `${what} ${
      partial
        ? 'A partial tile of width W, at the right edge of the tree; replaced by wider ones as the log grows.'
        : 'A full tile (width 256): immutable, cacheable forever.'
    }`,
    tags: ['log'],
    parameters: [...(kind === 'hashes' ? [tileLevel] : []), tileIndex, ...(partial ? [tileWidth] : [])],
    responses: {
      '200': {
        description: 'The tile bytes.',
        headers: {
          'Cache-Control': {
            schema: {
              type: 'string',
              examples: [partial ? 'public, max-age=1' : 'public, max-age=31536000, immutable'],
            },
          },
        },
        content: { [OCTETS]: { schema: { type: 'string', contentMediaType: OCTETS } } },
      },
      '400': text('Malformed tile path.'),
      '404': text('The tile is not (yet) in the tree.'),
      '500': logErrorResponse('Internal error'),
      '503': logErrorResponse('The log storage is unavailable'),
    },
  };
}

// --- The document --------------------------------------------------------------------------------

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
    '/admin/patients/{id}/erase': {
      post: {
        operationId: 'erasePatient',
        summary:
          "Crypto-shred a patient's records (operator token): their data keys are destroyed, reads answer 410 Gone, every log proof still verifies",
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, example: 'p-1' }],
        responses: {
          '200': {
            description: '{ patient, erasedAt, keyVersions, alreadyErased }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'NotFound', 'Unavailable'),
        },
      },
    },
    '/fhir': {
      post: {
        operationId: 'fhirTransaction',
        summary: 'FHIR transaction (atomic) or batch Bundle; urn:uuid references are rewritten',
        tags: ['fhir'],
        requestBody: { required: true, content: fhirJson },
        responses: {
          '200': { description: 'A transaction-response or batch-response Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'PayloadTooLarge', 'Unavailable'),
        },
      },
    },
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
    '/fhir/metadata': {
      get: {
        operationId: 'fhirCapabilities',
        summary: 'FHIR R4 CapabilityStatement (the FHIR API is described there, per FHIR convention)',
        tags: ['fhir'],
        responses: { '200': { description: 'CapabilityStatement.', content: fhirJson } },
      },
    },
    '/fhir/{type}': {
      get: {
        operationId: 'fhirSearch',
        summary:
          'FHIR search: the standard parameters of the type, _id, _lastUpdated, _count, _offset, _sort, _total; Prefer: handling=strict|lenient',
        tags: ['fhir'],
        parameters: [
          fhirType,
          {
            name: 'Prefer',
            in: 'header',
            required: false,
            schema: { type: 'string' } as JsonSchema,
            example: 'handling=strict',
          },
        ],
        responses: {
          '200': { description: 'A searchset Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
        },
      },
      put: {
        operationId: 'fhirConditionalUpdate',
        summary:
          'FHIR conditional update (R4 §3.1.0.4.3): the query names the resource; no match creates, one is updated, several are a 412',
        tags: ['fhir'],
        parameters: [fhirType],
        requestBody: { required: true, content: fhirJson },
        responses: {
          '200': { description: 'The new version of the one match.', content: fhirJson },
          '201': { description: 'Created: nothing matched.', content: fhirJson },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'PreconditionFailed',
            'Unavailable',
          ),
        },
      },
      patch: {
        operationId: 'fhirConditionalPatch',
        summary:
          'FHIR conditional patch: the one resource the query names, patched (JSON Patch or FHIRPath Patch)',
        tags: ['fhir'],
        parameters: [fhirType],
        requestBody: { required: true, content: patchContent },
        responses: {
          '200': { description: 'The new version.', content: fhirJson },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'PreconditionFailed',
            'UnsupportedMediaType',
            'Unprocessable',
            'Unavailable',
          ),
        },
      },
      delete: {
        operationId: 'fhirConditionalDelete',
        summary: 'FHIR conditional delete (single): the one resource the query names; several are a 412',
        tags: ['fhir'],
        parameters: [fhirType],
        responses: {
          '204': { description: 'Deleted, or nothing matched.' },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'PreconditionFailed',
            'Unavailable',
          ),
        },
      },
      post: {
        operationId: 'fhirCreate',
        summary: 'FHIR create (validated, encrypted, audited)',
        tags: ['fhir'],
        parameters: [fhirType],
        requestBody: { required: true, content: fhirJson },
        responses: {
          '201': { description: 'The stored resource, with Location and ETag.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'PayloadTooLarge', 'Unavailable'),
        },
      },
    },
    '/fhir/{type}/_search': {
      post: {
        operationId: 'fhirSearchByPost',
        summary:
          'FHIR search by POST (R4 §3.1.1): form parameters in an application/x-www-form-urlencoded body, added to those of the URL',
        tags: ['fhir'],
        parameters: [fhirType],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } as JsonSchema } },
        },
        responses: {
          '200': { description: 'A searchset Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
        },
      },
    },
    '/fhir/{type}/{id}': {
      get: {
        operationId: 'fhirRead',
        summary: 'FHIR read (audited)',
        tags: ['fhir'],
        parameters: [fhirType, fhirId],
        responses: {
          '200': { description: 'The current version, with ETag.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Gone', 'Unavailable'),
        },
      },
      put: {
        operationId: 'fhirUpdate',
        summary: 'FHIR update, or create with this id; If-Match: W/"<versionId>" for optimistic locking',
        tags: ['fhir'],
        parameters: [fhirType, fhirId],
        requestBody: { required: true, content: fhirJson },
        responses: {
          '200': { description: 'The new version.', content: fhirJson },
          '201': { description: 'Created with the given id.', content: fhirJson },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'PreconditionFailed',
            'Unavailable',
          ),
        },
      },
      patch: {
        operationId: 'fhirPatch',
        summary:
          'FHIR patch (R4 §3.1.0.5): application/json-patch+json (RFC 6902) or a FHIRPath Patch Parameters resource; validated like an update, atomic; If-Match: W/"<versionId>"',
        tags: ['fhir'],
        parameters: [fhirType, fhirId],
        requestBody: { required: true, content: patchContent },
        responses: {
          '200': { description: 'The new version.', content: fhirJson },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'PreconditionFailed',
            'UnsupportedMediaType',
            'Unprocessable',
            'Unavailable',
          ),
        },
      },
      delete: {
        operationId: 'fhirDelete',
        summary: 'FHIR delete (a new, empty version; history is kept)',
        tags: ['fhir'],
        parameters: [fhirType, fhirId],
        responses: {
          '204': { description: 'Deleted (or already deleted).' },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
        },
      },
    },
    // R4 resource-operation-validate.html (src/http/routes/validate-routes.ts).
    ...Object.fromEntries(
      (['/fhir/{type}/$validate', '/fhir/{type}/{id}/$validate'] as const).map((path) => [
        path,
        {
          post: {
            operationId: path.includes('{id}') ? 'fhirValidateInstance' : 'fhirValidateType',
            summary:
              '$validate: the resource (or a Parameters body with resource, mode, profile) checked against R4 and the loaded profiles (IPS 2.0.0, US Core 5.0.1 subset); 200 with the OperationOutcome whether valid or not; nothing is stored. mode=delete (instance) needs no body.',
            tags: ['fhir'],
            parameters: [
              fhirType,
              ...(path.includes('{id}') ? [fhirId] : []),
              {
                name: 'mode',
                in: 'query' as const,
                required: false,
                schema: { enum: ['create', 'update', 'delete', 'profile'] } as JsonSchema,
              },
              {
                name: 'profile',
                in: 'query' as const,
                required: false,
                schema: { type: 'string' } as JsonSchema,
                example: 'http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips',
              },
            ],
            requestBody: { required: false, content: fhirJson },
            responses: {
              '200': { description: 'An OperationOutcome with the issues found.', content: fhirJson },
              ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
            },
          },
        },
      ]),
    ),
    '/fhir/Patient/{id}/$everything': {
      get: {
        operationId: 'fhirPatientEverything',
        summary: 'Patient $everything: the patient and every resource in their compartment (audited)',
        tags: ['fhir'],
        parameters: [fhirId],
        responses: {
          '200': { description: 'A searchset Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Gone', 'Unavailable'),
        },
      },
    },
    '/fhir/Patient/{id}/$summary': {
      get: {
        operationId: 'fhirPatientSummary',
        summary:
          "International Patient Summary (IPS 1.1 $summary) of what $everything shows the requester, signed by the member: a document Bundle whose Bundle.signature is a detached ES256K JWS by the member's ledger address (audited as $everything)",
        tags: ['fhir'],
        parameters: [fhirId],
        responses: {
          '200': { description: 'A signed IPS document Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Gone', 'Unavailable'),
        },
      },
      post: {
        operationId: 'fhirPatientSummaryPost',
        summary: 'The same as GET $summary (no body, no operation parameters)',
        tags: ['fhir'],
        parameters: [fhirId],
        responses: {
          '200': { description: 'A signed IPS document Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Gone', 'Unavailable'),
        },
      },
    },
    ...bulkExportPaths(),
    '/fhir/{type}/_history': {
      get: {
        operationId: 'fhirHistoryType',
        summary: 'FHIR type history, newest first, of the versions the requester may see; _since, _count',
        tags: ['fhir'],
        parameters: [fhirType],
        responses: {
          '200': { description: 'A history Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
        },
      },
    },
    '/fhir/Patient/{id}/$break-glass': {
      post: {
        operationId: 'fhirBreakGlass',
        summary:
          'Declare an emergency for one patient (clinician, purpose ETREAT, second factor): a Parameters body with reason and optional minutes (default 60, at most node.json breakGlass.maxMinutes, 60 unless configured; more is refused with 400; more than breakGlass.maxOpenings openings by one clinician in breakGlass.openingsWindowMinutes, 10 in 1440 unless configured, is refused with 429 and Retry-After); every access in the window is marked DICOM 110127',
        tags: ['fhir'],
        parameters: [fhirId],
        requestBody: { required: true, content: fhirJson },
        responses: {
          '200': { description: 'Parameters: session, patient, start, end, auditEvent.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'TooManyRequests', 'Unavailable'),
        },
      },
    },
    '/break-glass': {
      get: {
        operationId: 'listBreakGlass',
        summary:
          'Break-glass sessions: all for the privacy officer, their own for a patient; ?unreviewed=true lists ended sessions still awaiting review',
        tags: ['fhir'],
        parameters: [
          {
            name: 'unreviewed',
            in: 'query',
            required: false,
            schema: { type: 'string', enum: ['true', 'false'] },
          },
        ],
        responses: {
          '200': {
            description: '{ sessions: [...] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized', 'Forbidden'),
        },
      },
    },
    '/break-glass/{id}/review': {
      post: {
        operationId: 'reviewBreakGlass',
        summary: 'Complete the review of a break-glass session (privacy officer): { outcome, note }',
        tags: ['fhir'],
        parameters: [
          { name: 'id', in: 'path', required: true, schema: { type: 'string' }, example: 'f1c2…' },
        ],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['outcome', 'note'],
                properties: {
                  outcome: { type: 'string', enum: ['justified', 'not-justified'] },
                  note: { type: 'string' },
                },
              },
            },
          },
        },
        responses: {
          '200': {
            description: '{ session }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'PreconditionFailed',
            'Unavailable',
          ),
        },
      },
    },
    '/fhir/{type}/{id}/_history': {
      get: {
        operationId: 'fhirHistoryInstance',
        summary: 'FHIR instance history, newest first',
        tags: ['fhir'],
        parameters: [fhirType, fhirId],
        responses: {
          '200': { description: 'A history Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
        },
      },
    },
    '/fhir/{type}/{id}/_history/{vid}': {
      get: {
        operationId: 'fhirVread',
        summary: 'FHIR vread',
        tags: ['fhir'],
        parameters: [
          fhirType,
          fhirId,
          {
            name: 'vid',
            in: 'path',
            required: true,
            schema: { type: 'string', pattern: '^[1-9][0-9]{0,9}$' },
            example: '1',
          },
        ],
        responses: {
          '200': { description: 'That version.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Gone', 'Unavailable'),
        },
      },
    },
    '/.well-known/smart-configuration': {
      get: {
        operationId: 'smartConfiguration',
        summary: 'SMART App Launch discovery (also at /fhir/.well-known/smart-configuration)',
        tags: ['oauth'],
        responses: {
          '200': {
            description: 'SMART configuration.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/fhir/.well-known/smart-configuration': {
      get: {
        operationId: 'fhirSmartConfiguration',
        summary: 'SMART App Launch discovery under the FHIR base, where SMART clients look',
        tags: ['oauth'],
        responses: {
          '200': {
            description: 'SMART configuration.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/.well-known/openid-configuration': {
      get: {
        operationId: 'openIdConfiguration',
        summary: 'OpenID Connect discovery',
        tags: ['oauth'],
        responses: {
          '200': {
            description: 'OpenID provider metadata.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/oauth/jwks': {
      get: {
        operationId: 'jwks',
        summary: "The node's token-signing public keys (JWK Set)",
        tags: ['oauth'],
        responses: {
          '200': { description: 'JWK Set.', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
    '/oauth/authorize': {
      get: {
        operationId: 'authorize',
        summary:
          'Authorization endpoint: validates the request (PKCE S256, aud, state) and shows the sign-in page (password and TOTP)',
        tags: ['oauth'],
        responses: {
          '200': {
            description: 'The sign-in page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '302': { description: 'Back to the app with an error (RFC 6749 §4.1.2.1).' },
          '400': {
            description: 'Unknown client or unregistered redirect URI (never redirected).',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
      post: {
        operationId: 'authorizePost',
        summary: 'Authorization by POST (SMART authorize-post) and the sign-in form: redirects with the code',
        tags: ['oauth'],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
        },
        responses: {
          '200': {
            description: 'The sign-in page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '302': { description: 'Back to the app with code and state, or an error.' },
          '400': {
            description: 'Unknown client or unregistered redirect URI.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '401': {
            description: 'Wrong credentials: the sign-in page again, with the reason.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/oauth/token': {
      post: {
        operationId: 'token',
        summary:
          'Token endpoint: authorization_code (PKCE), refresh_token (rotated; reuse revokes the grant), client_credentials (private_key_jwt)',
        tags: ['oauth'],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
        },
        responses: {
          '200': {
            description:
              'access_token (ES256 JWT), token_type, expires_in, scope, refresh_token, id_token, patient.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '400': {
            description: 'RFC 6749 §5.2 error (invalid_grant, invalid_scope, …).',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '401': {
            description: 'invalid_client.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/oauth/revoke': {
      post: {
        operationId: 'revoke',
        summary: 'RFC 7009 revocation of a refresh token (and its grant) or an access token',
        tags: ['oauth'],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
        },
        responses: { '200': { description: 'Revoked (or nothing to revoke).' } },
      },
    },
    '/oauth/introspect': {
      post: {
        operationId: 'introspect',
        summary: 'RFC 7662 token introspection',
        tags: ['oauth'],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
        },
        responses: {
          '200': {
            description: '{ active, … }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/oauth/register': {
      post: {
        operationId: 'register',
        summary: 'RFC 7591 dynamic registration of a public SMART app (PKCE, no secret)',
        description:
          "Redirect URIs must be https, or http on loopback. The app is registered with status pending (nobody can sign in to it until the operator approves it: POST /admin/clients/{id}/approve), unless the body carries a software_statement (RFC 7591 §2.3) signed by a publisher key listed in node.json clientRegistration.softwareStatementKeys; then it is approved at once, under the statement's client_name and redirect_uris.",
        tags: ['oauth'],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '201': {
            description: 'The client, with its client_id and status (pending or approved).',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '400': {
            description: 'invalid_client_metadata, invalid_redirect_uri or invalid_software_statement.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/oauth/userinfo': {
      get: {
        operationId: 'userinfo',
        summary: 'OpenID Connect userinfo: sub and fhirUser of the token',
        tags: ['oauth'],
        responses: {
          '200': { description: 'Claims.', content: { 'application/json': { schema: { type: 'object' } } } },
          ...errors('Unauthorized'),
        },
      },
    },
    '/fhir/Patient/{id}/$fetch-from-members': {
      post: {
        operationId: 'fetchFromMembers',
        summary:
          "Pull a patient's records from the other members holding some (record locator on the ledger)",
        description:
          "For a practitioner of this member: finds the members holding records of the patient's ledger address (RecordLocator), asks each with SMART Backend Services (an ES256K client assertion signed by this member's ledger key, purpose_of_use and the practitioner's ledger address), verifies every version received against that member's log (version proof, tlog-proof signed by the member's registered log key, consistent with its latest anchor on the ledger), keeps what verifies with meta.source and one Provenance per member, and reports what each member refused or what failed verification, with the reason.",
        tags: ['fhir'],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: '0b6e2f7a-3c1d-4f4e-9a55-5d2e7c1b8a90',
          },
          {
            name: 'purpose',
            in: 'query',
            required: false,
            description: 'HL7 v3 PurposeOfUse (default: the request purpose, TREAT).',
            schema: { type: 'string', examples: ['TREAT'] },
          },
        ],
        responses: {
          '200': {
            description:
              '{ patient, members: [{ member, name, status: ok|refused|error, error?, received, kept, unchanged, refused: [{ reference, reason, message }], provenance? }] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized', 'Forbidden', 'NotFound', 'PreconditionFailed', 'Unavailable'),
        },
      },
    },
    '/': {
      get: {
        operationId: 'root',
        summary: 'Redirects to the portal',
        tags: ['portal'],
        responses: { '302': { description: 'Location: /portal/' } },
      },
    },
    '/portal': {
      get: {
        operationId: 'portalPage',
        summary: 'The patient, clinician and administrator web portal (one page; strict CSP)',
        tags: ['portal'],
        responses: {
          '200': {
            description: 'The portal page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '503': { description: 'The portal bundle is not built (run npm run build).' },
        },
      },
    },
    '/portal/*': {
      get: {
        operationId: 'portalDeepLink',
        summary: 'A portal page by path (the same single page), or 404',
        tags: ['portal'],
        description:
          'Any path under /portal/ ending in / or /index.html serves the page; anything else is 404.',
        responses: {
          '200': {
            description: 'The portal page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          ...errors('NotFound'),
        },
      },
    },
    '/portal/assets/{file}': {
      get: {
        operationId: 'portalAsset',
        summary: "The portal's content-hashed scripts and styles (cached forever)",
        tags: ['portal'],
        parameters: [
          { name: 'file', in: 'path', required: true, schema: { type: 'string' }, example: 'portal-0000.js' },
        ],
        responses: {
          '200': {
            description: 'The asset.',
            content: { 'text/javascript': { schema: { type: 'string' } } },
          },
          ...errors('NotFound'),
        },
      },
    },
    '/portal/api/consent-nonce': {
      get: {
        operationId: 'consentNonce',
        summary: "A patient's next consent nonce on ConsentRegistry (what the browser signs next)",
        tags: ['portal'],
        parameters: [{ name: 'patient', in: 'query', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description: '{ patient, nonce } (nonce as a decimal string)',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/access-requests': {
      post: {
        operationId: 'requestAccess',
        summary:
          'A practitioner asks a patient for access: a proposed Consent, and a notification to the patient',
        tags: ['account'],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'object', description: '{ patient: FHIR id, purpose?: TREAT }' },
            },
          },
        },
        responses: {
          '201': {
            description:
              'The proposed Consent (status proposed); nothing is granted until the patient signs.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound'),
        },
      },
    },
    '/patient/everywhere': {
      get: {
        operationId: 'listPatientAudiences',
        summary:
          "The members holding the signed-in patient's records, and the audience to sign an assertion for at each",
        tags: ['account'],
        responses: {
          '200': {
            description: '{ patient: ledger address, members: [{ address, name, audience }] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized', 'Forbidden', 'PreconditionFailed'),
        },
      },
      post: {
        operationId: 'collectPatientView',
        summary: "The patient's records and access history from every member, each with its proof status",
        description:
          "Body { assertions: [{ member, assertion }] }: one RFC 7523 JWT per member, signed ES256K with the patient's ledger key (iss = sub = the address, aud = that member's token endpoint, exp within 5 minutes, a fresh jti). Each member exchanges its assertion for a token limited to that patient (PATRQT) and serves $everything and the AuditEvents; each item is checked against the member's anchored log.",
        tags: ['account'],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '200': {
            description:
              '{ members: [{ address, name, status, error? }], records: [{ member, memberName, resource, verification }], accessHistory: [{ member, memberName, auditEvent, tlogProof?, verification }] }; verification is { status: verified, index, checkpoint, anchoredSize } or { status: failed, reason, message }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'PreconditionFailed'),
        },
      },
    },
    '/notifications': {
      get: {
        operationId: 'listNotifications',
        summary:
          'Notifications for the signed-in user (break-glass on their record; for a privacy officer, every break-glass)',
        tags: ['account'],
        responses: {
          '200': {
            description: '{ notifications }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized'),
        },
      },
    },
    '/notifications/{id}/read': {
      post: {
        operationId: 'readNotification',
        summary: 'Marks a notification read',
        tags: ['account'],
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, example: 'n-1' }],
        responses: { '204': { description: 'Marked.' }, ...errors('Unauthorized', 'NotFound') },
      },
    },
    '/patient/keystore': {
      get: {
        operationId: 'getPatientKeystore',
        summary:
          "The signed-in patient's encrypted consent keystore (Web3 Secret Storage; the node cannot open it)",
        tags: ['account'],
        responses: {
          '200': {
            description: 'The keystore.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized', 'Forbidden', 'NotFound'),
        },
      },
      put: {
        operationId: 'putPatientKeystore',
        summary: 'Replaces the keystore (new passphrase, or after recovery by guardians); same address only',
        tags: ['account'],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '204': { description: 'Stored.' },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden'),
        },
      },
    },
    '/admin/users': {
      post: {
        operationId: 'createUser',
        summary:
          'Enrol a user (practitioner with attested ledger address, or patient): answers the TOTP secret once',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '201': {
            description: 'The user, totpSecret and otpauthUri.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'PreconditionFailed'),
        },
      },
    },
    '/admin/clients': {
      post: {
        operationId: 'createClient',
        summary:
          'Register an OAuth client: a SMART app, or another member system (jwks, memberAddress) for Backend Services',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '201': {
            description: 'The client.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized', 'PreconditionFailed'),
        },
      },
      get: {
        operationId: 'listClients',
        summary:
          'The registered OAuth clients with their status; ?status=pending lists self-registered apps waiting for approval',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          { name: 'status', in: 'query', required: false, schema: { enum: ['pending', 'approved'] } },
        ],
        responses: {
          '200': {
            description: '{ clients: [{ clientId, name, redirectUris, status, registeredVia, ... }] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unauthorized'),
        },
      },
    },
    '/admin/clients/{id}/approve': {
      post: {
        operationId: 'approveClient',
        summary:
          'Approve a self-registered app (RFC 7591 registration held for review): users can sign in to it from now on',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: 'b7e1c0de-4a5f-4c3e-9d2a-0f1e2d3c4b5a',
          },
        ],
        responses: {
          '200': {
            description: 'The approved client.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized', 'NotFound'),
        },
      },
    },
    '/admin/clients/{id}': {
      delete: {
        operationId: 'deleteClient',
        summary: 'Reject a pending app, or withdraw an approved one',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: 'b7e1c0de-4a5f-4c3e-9d2a-0f1e2d3c4b5a',
          },
        ],
        responses: {
          '204': { description: 'Removed.' },
          ...errors('Unauthorized', 'NotFound'),
        },
      },
    },
    '/admin/users/{username}/unlock': {
      post: {
        operationId: 'unlockSignIn',
        summary:
          'Lift a sign-in lockout of a username and its one-time codes (after 100 consecutive failures, only the operator can)',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          { name: 'username', in: 'path', required: true, schema: { type: 'string' }, example: 'dr.one' },
        ],
        responses: {
          '200': {
            description: '{ unlocked: true }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('Unauthorized'),
        },
      },
    },
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
    '/ledger/members': {
      get: {
        operationId: 'listMembers',
        summary: 'Consortium members, from the ledger index',
        tags: ['ledger'],
        responses: {
          '200': {
            description: 'Members, active and removed.',
            content: json({
              type: 'object',
              required: ['members'],
              properties: { members: { type: 'array', items: schema('Member') } },
            }),
          },
          ...errors('Unavailable'),
        },
      },
    },
    '/ledger/proposals': {
      get: {
        operationId: 'listProposals',
        summary: 'Admission and removal proposals with their votes, from the ledger index',
        description:
          'Folded from the ConsortiumRegistry ProposalCreated and VoteCast events, oldest first. threshold is the effective threshold (min(k, active members)) when the latest vote was cast. Names come from the indexed members: the subject of an admission not yet executed has none.',
        tags: ['ledger'],
        responses: {
          '200': {
            description: 'Every proposal, executed, pending or expired.',
            content: json({
              type: 'object',
              required: ['proposals'],
              properties: {
                proposals: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: [
                      'id',
                      'kind',
                      'status',
                      'subject',
                      'subjectName',
                      'proposer',
                      'proposerName',
                      'votes',
                      'threshold',
                      'executed',
                      'expiresAt',
                      'voters',
                      'blockNumber',
                      'txHash',
                    ],
                    properties: {
                      id: { type: 'string', pattern: '^[0-9]+$' },
                      kind: { enum: ['admission', 'removal'] },
                      status: { enum: ['executed', 'pending', 'expired'] },
                      subject: schema('Address'),
                      subjectName: { type: nullable('string') },
                      proposer: schema('Address'),
                      proposerName: { type: nullable('string') },
                      votes: { type: 'integer' },
                      threshold: { type: 'integer' },
                      executed: { type: 'boolean' },
                      expiresAt: { type: 'integer', description: 'Unix seconds.' },
                      voters: {
                        type: 'array',
                        items: {
                          type: 'object',
                          required: ['address', 'name'],
                          properties: { address: schema('Address'), name: { type: nullable('string') } },
                        },
                      },
                      blockNumber: { type: 'integer', description: 'The block of ProposalCreated.' },
                      txHash: schema('Bytes32'),
                    },
                  },
                },
              },
            }),
          },
          ...errors('Unavailable'),
        },
      },
    },
    '/ledger/practitioners': {
      get: {
        operationId: 'listPractitioners',
        summary: 'Practitioners attested on the ledger, from the ledger index',
        description:
          'Revoked and expired attestations included. credentialHash is a keyed hash of the credential, never the credential. valid is ConsortiumRegistry.practitionerStatus now: not revoked, not expired, attested by an active member.',
        tags: ['ledger'],
        parameters: [
          {
            name: 'organization',
            in: 'query',
            required: false,
            description: 'Only the practitioners attested by this member.',
            schema: schema('Address'),
          },
        ],
        responses: {
          '200': {
            description: 'The attested practitioners (possibly none).',
            content: json({
              type: 'object',
              required: ['practitioners'],
              properties: {
                practitioners: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: [
                      'address',
                      'organization',
                      'credentialHash',
                      'qualificationCode',
                      'expiresAt',
                      'revoked',
                      'expired',
                      'valid',
                    ],
                    properties: {
                      address: schema('Address'),
                      organization: schema('Address'),
                      credentialHash: schema('Bytes32'),
                      qualificationCode: { type: 'string' },
                      expiresAt: { type: 'integer', description: 'Unix seconds.' },
                      revoked: { type: 'boolean' },
                      expired: { type: 'boolean' },
                      valid: { type: 'boolean' },
                    },
                  },
                },
              },
            }),
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/ledger/locations/{patient}': {
      get: {
        operationId: 'getRecordLocations',
        summary: 'Which members hold records of a patient, from the ledger index (RecordLocator)',
        description:
          'A member node announces a pointer (patient ledger address → member) when it stores a Patient carrying that address, and withdraws it when the patient is erased there. Only active members are listed, in the order they announced. The patient is named by their pseudonymous ledger address only.',
        tags: ['ledger'],
        parameters: [
          {
            name: 'patient',
            in: 'path',
            required: true,
            description: 'The patient’s ledger address.',
            schema: schema('Address'),
            example: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
          },
        ],
        responses: {
          '200': {
            description: 'The members holding records of the patient (possibly none).',
            content: json({
              type: 'object',
              required: ['patient', 'members'],
              properties: {
                patient: schema('Address'),
                members: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['address', 'name', 'fhirBaseUrl', 'role'],
                    properties: {
                      address: schema('Address'),
                      name: { type: 'string' },
                      fhirBaseUrl: { type: 'string' },
                      role: schema('MemberRole'),
                    },
                  },
                },
              },
            }),
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/ledger/sync': {
      get: {
        operationId: 'getSync',
        summary: 'How far the ledger index has followed the chain',
        tags: ['ledger'],
        responses: {
          '200': { description: 'Sync status.', content: json(schema('SyncStatus')) },
          ...errors('Unavailable'),
        },
      },
    },
    '/ledger/transactions/{hash}': {
      get: {
        operationId: 'getTransaction',
        summary: 'A transaction this node sent',
        tags: ['ledger'],
        parameters: [
          {
            name: 'hash',
            in: 'path',
            required: true,
            schema: schema('Bytes32'),
            example: `0x${'ab'.repeat(32)}`,
          },
        ],
        responses: {
          '200': { description: 'The outbox entry.', content: json(schema('OutboxTransaction')) },
          ...errors('BadRequest', 'NotFound', 'Unavailable'),
        },
      },
    },
    '/ledger/consent/grants': {
      post: {
        operationId: 'relayGrant',
        summary: 'Relay a patient-signed grant to the ledger',
        description:
          'Checked before anything is sent (fields, window, known bits, signature recovers to grant.patient), simulated against the chain, signed by this node and stored; the relay is recorded in the node’s transparency log before the answer.',
        tags: ['consent'],
        parameters: [waitQuery],
        requestBody: { required: true, content: json(schema('SignedGrant')) },
        responses: {
          '201': { description: 'Mined (wait=true).', content: json(schema('RelayReceipt')) },
          '202': { description: 'Stored in the outbox and sent.', content: json(schema('RelayReceipt')) },
          ...errors('BadRequest', 'Forbidden', 'Conflict', 'PayloadTooLarge', 'Unprocessable', 'Unavailable'),
        },
      },
      get: {
        operationId: 'listGrants',
        summary: 'Grants of a patient or to a grantee, from the ledger index',
        tags: ['consent'],
        parameters: [
          addressQuery('patient', false, 'Give patient, grantee or both.'),
          addressQuery('grantee', false, 'Give patient, grantee or both.'),
        ],
        responses: {
          '200': {
            description: 'Grants, revoked ones included.',
            content: json({
              type: 'object',
              required: ['grants'],
              properties: { grants: { type: 'array', items: schema('GrantRecord') } },
            }),
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/ledger/consent/revocations': {
      post: {
        operationId: 'relayRevocation',
        summary: 'Relay a patient-signed revocation to the ledger',
        tags: ['consent'],
        parameters: [waitQuery],
        requestBody: { required: true, content: json(schema('SignedRevoke')) },
        responses: {
          '201': { description: 'Mined (wait=true).', content: json(schema('RelayReceipt')) },
          '202': { description: 'Stored in the outbox and sent.', content: json(schema('RelayReceipt')) },
          ...errors('BadRequest', 'Forbidden', 'Conflict', 'PayloadTooLarge', 'Unprocessable', 'Unavailable'),
        },
      },
    },
    ...consentOpeningPaths({ schema, json, errors }),
    ...ledgerKeyEnrolmentPaths({ schema, json, errors }),
    '/ledger/consent/grants/{grantId}': {
      get: {
        operationId: 'getGrant',
        summary: 'One grant, from the ledger index',
        tags: ['consent'],
        parameters: [
          {
            name: 'grantId',
            in: 'path',
            required: true,
            description: 'The EIP-712 digest of the grant (what the patient signed).',
            schema: schema('Bytes32'),
            example: `0x${'cd'.repeat(32)}`,
          },
        ],
        responses: {
          '200': { description: 'The grant.', content: json(schema('GrantRecord')) },
          ...errors('NotFound', 'Unavailable'),
        },
      },
    },
    '/ledger/consent/check': {
      get: {
        operationId: 'checkConsent',
        summary: 'May the grantee see these categories for these purposes, for this patient, at this time?',
        description:
          'Allowed when one grant covers every category and purpose asked, to the grantee itself or to the active member organization that attests the grantee as a practitioner. An empty category or purpose list is never covered.',
        tags: ['consent'],
        parameters: [
          addressQuery('patient', true, 'The patient.'),
          addressQuery('grantee', true, 'The organization or practitioner asking.'),
          {
            name: 'category',
            in: 'query',
            required: true,
            description: 'Comma-separated category names.',
            style: 'form',
            explode: false,
            schema: { type: 'array', items: schema('DataCategory') },
            example: 'laboratory',
          },
          {
            name: 'purpose',
            in: 'query',
            required: true,
            description: 'Comma-separated purpose of use codes.',
            style: 'form',
            explode: false,
            schema: { type: 'array', items: schema('PurposeOfUse') },
            example: 'TREAT',
          },
          {
            name: 'at',
            in: 'query',
            description: 'Unix seconds; default now.',
            schema: { type: 'integer', minimum: 0 },
          },
        ],
        responses: {
          '200': {
            description: 'The decision (a denial is a value, not an error).',
            content: json(schema('ConsentDecision')),
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/log/checkpoint': {
      get: {
        operationId: 'getLogCheckpoint',
        summary: 'The latest checkpoint',
        description:
          'A C2SP signed note (c2sp.org/tlog-checkpoint) with the node’s signature and the witness cosignatures gathered so far.',
        tags: ['log'],
        responses: {
          '200': {
            ...text('The signed checkpoint note.'),
            headers: { 'Cache-Control': { schema: { const: 'no-cache' } } },
          },
          '404': text('No checkpoint yet.'),
        },
      },
    },
    '/log/tile/{L}/{N}': { get: tileOperation('hashes', false) },
    '/log/tile/{L}/{N}.p/{W}': { get: tileOperation('hashes', true) },
    '/log/tile/entries/{N}': { get: tileOperation('entries', false) },
    '/log/tile/entries/{N}.p/{W}': { get: tileOperation('entries', true) },
    '/log/proofs': {
      post: {
        operationId: 'getLogProofs',
        summary: 'Many tlog-proofs in one request',
        description:
          'Body { indices: [ … ] } (at most 1,000 non-negative integers). Answers { proofs: { "<index>": "<tlog-proof>" | null } }: each proof exactly as GET /log/proof/{index} serves it, null for an entry no checkpoint covers yet. One round trip for a whole record.',
        tags: ['log'],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', required: ['indices'] } } },
        },
        responses: {
          '200': {
            description: '{ proofs }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest', 'Unavailable'),
        },
      },
    },
    '/log/consistency': {
      get: {
        operationId: 'getLogConsistency',
        summary: 'RFC 9162 consistency proof between two checkpointed sizes',
        description:
          'One base64 hash per line (the tlog-witness body format). How a reader brings a checkpoint anchored on the ledger up to the one a proof was served with.',
        tags: ['log'],
        parameters: [
          {
            name: 'old',
            in: 'query',
            required: true,
            schema: { type: 'string', pattern: '^(0|[1-9][0-9]*)$' },
          },
          {
            name: 'new',
            in: 'query',
            required: true,
            schema: { type: 'string', pattern: '^(0|[1-9][0-9]*)$' },
          },
        ],
        responses: {
          '200': text('The proof hashes, one base64 line each.'),
          '400': text('old and new must be decimal sizes, old <= new.'),
          '404': text('new is beyond the latest checkpoint.'),
        },
      },
    },
    '/ledger/anchors': {
      get: {
        operationId: 'listAnchors',
        summary: "A member log's checkpoints anchored on CheckpointAnchor, from this node's index",
        tags: ['ledger'],
        parameters: [{ name: 'origin', in: 'query', required: true, schema: { type: 'string' } }],
        responses: {
          '200': {
            description:
              '{ origin, anchors: [{ origin, treeSize, rootHash, noteHash, member, anchoredAt, blockNumber, txHash }] }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          ...errors('BadRequest'),
        },
      },
    },
    '/log/proof/{index}': {
      get: {
        operationId: 'getLogProof',
        summary: 'An offline-verifiable proof that an entry is in the log',
        description:
          'A C2SP tlog-proof (c2sp.org/tlog-proof): the entry as extra data, its index, the inclusion proof and the latest (cosigned) checkpoint that contains it.',
        tags: ['log'],
        parameters: [
          {
            name: 'index',
            in: 'path',
            required: true,
            description: 'Entry index, decimal, no leading zeros.',
            schema: { type: 'string', pattern: '^(0|[1-9][0-9]*)$' },
            example: '42',
          },
        ],
        responses: {
          '200': {
            ...text('The tlog-proof, starting "c2sp.org/tlog-proof@v1".'),
            headers: {
              'Content-Disposition': {
                schema: { type: 'string', examples: ['attachment; filename="entry-42.tlog-proof"'] },
              },
            },
          },
          '400': text('Not a decimal entry index.'),
          '404': text('The entry is not in a checkpoint yet.'),
          '422': logErrorResponse('The stored log does not verify'),
          '500': logErrorResponse('Internal error'),
          '503': logErrorResponse('The log storage is unavailable'),
        },
      },
    },
    '/witness/add-checkpoint': {
      post: {
        operationId: 'addCheckpoint',
        summary: 'Ask this node to cosign another member’s checkpoint (c2sp.org/tlog-witness)',
        description:
          'Only logs of active consortium members are witnessed, with the keys the ledger publishes. The body is "old <size>", the consistency proof lines (base64), an empty line and the signed checkpoint.',
        tags: ['witness'],
        requestBody: {
          required: true,
          content: {
            [TEXT]: {
              schema: { type: 'string', maxLength: MAX_ADD_CHECKPOINT_BODY },
              example: 'old 0\n\nexample.org/log\n1\n<base64 root>\n\n— example.org/log <base64 signature>\n',
            },
          },
        },
        responses: {
          '200': text('The cosignature line(s) (c2sp.org/tlog-cosignature).'),
          '400': text('Malformed request, or old size beyond the checkpoint.'),
          '403': text('The checkpoint is not signed by a trusted key of that log.'),
          '404': text('Unknown log origin.'),
          '409': {
            description:
              'text/x.tlog.size: old is not the size this witness last cosigned (the body is that size); text/plain: a different root at the size last cosigned.',
            content: {
              [TLOG_SIZE_CONTENT_TYPE]: {
                schema: { type: 'string', pattern: '^[0-9]+\\n$' },
                example: '1\n',
              },
              [TEXT]: { schema: { type: 'string' } },
            },
          },
          '413': text(`The body is larger than ${MAX_ADD_CHECKPOINT_BODY} bytes.`),
          '422': text('The consistency proof does not verify.'),
          '500': text('Internal error.'),
        },
      },
    },
    '/admin/members/proposals': {
      post: {
        operationId: 'proposeMember',
        summary: 'Propose (and vote for) the admission of an organization',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: { required: true, content: json(schema('MemberCandidate')) },
        responses: {
          '201': { description: 'Mined.', content: json(schema('ProposalReceipt')) },
          ...errors(
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
      },
    },
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
    '/admin/members/proposals/{id}/votes': {
      post: {
        operationId: 'voteOnProposal',
        summary: 'Vote for a pending admission proposal',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            schema: { type: 'string', pattern: '^[0-9]{1,20}$' },
            example: '3',
          },
        ],
        responses: {
          '201': { description: 'Mined.', content: json(schema('OutboxTransaction')) },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'Conflict',
            'Unprocessable',
            'Unavailable',
          ),
        },
      },
    },
    '/admin/practitioners': {
      post: {
        operationId: 'attestPractitioner',
        summary: 'Attest a practitioner key as staff of this member',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: { required: true, content: json(schema('PractitionerAttestation')) },
        responses: {
          '201': { description: 'Mined.', content: json(schema('OutboxTransaction')) },
          ...errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'Conflict',
            'PayloadTooLarge',
            'Unprocessable',
            'Unavailable',
          ),
        },
      },
    },
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
