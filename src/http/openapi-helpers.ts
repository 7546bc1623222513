/**
 * Building blocks of the OpenAPI document (openapi.ts): media types, references, the shared error responses.
 */
import type { ConsentDecision } from '../consent/index.js';
import { ERROR_CODES } from '../errors/index.js';
import { ERROR_CODE_SYSTEM } from '../fhir/operation-outcome.js';
import {
  CONSENT_DOMAIN_NAME,
  CONSENT_DOMAIN_VERSION,
  consentTypes,
  type OutboxStatus,
} from '../ledger/index.js';
import { HTTP_STATUS } from './error-response.js';
import type { Header, JsonSchema, JsonType, Reference, Response } from './openapi-types.js';
import { SUPPORTED_RESOURCE_TYPES } from './routes/fhir-routes.js';

export const TEXT = 'text/plain; charset=utf-8';
export const OCTETS = 'application/octet-stream';
export const JSON_TYPE = 'application/json';
/** create-node-app.ts answers thrown errors with this media type. */
export const FHIR_JSON = 'application/fhir+json';

export const schema = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const response = (name: string): Reference => ({ $ref: `#/components/responses/${name}` });
export const json = (body: JsonSchema) => ({ [JSON_TYPE]: { schema: body } });
export const fhirJson = {
  'application/fhir+json': {
    schema: {
      type: 'object',
      required: ['resourceType'],
      properties: { resourceType: { type: 'string' } },
    } as JsonSchema,
  },
};
export const fhirType = {
  name: 'type',
  in: 'path' as const,
  required: true,
  schema: { enum: [...SUPPORTED_RESOURCE_TYPES] },
  example: 'Observation',
};
export const fhirId = {
  name: 'id',
  in: 'path' as const,
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' } as JsonSchema,
  example: 'example-1',
};
export const text = (description: string): Response => ({
  description,
  content: { [TEXT]: { schema: { type: 'string' } } },
});

export const HEX = (bytes: number): string => `^0x[0-9a-fA-F]{${bytes * 2}}$`;

/** The error codes that answer with `status` (from HTTP_STATUS). */
export function codesFor(status: number): string {
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
export type ErrorResponseName = keyof typeof ERROR_RESPONSES;

export const ERROR_TEXT: Record<ErrorResponseName, string> = {
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

export const outcomeContent = { [FHIR_JSON]: { schema: schema('OperationOutcome') } };
/** A PATCH body: an RFC 6902 JSON Patch, or a FHIRPath Patch (a Parameters resource). */
export const patchContent = {
  'application/json-patch+json': { schema: { type: 'array', items: { type: 'object' } } as JsonSchema },
  [FHIR_JSON]: {
    schema: {
      type: 'object',
      description: 'A FHIRPath Patch: a Parameters resource of operations.',
    } as JsonSchema,
  },
};

export const RETRY_AFTER: Header = {
  description: 'Seconds to wait before retrying (RFC 9110 §10.2.3).',
  required: true,
  schema: { type: 'integer', minimum: 0 },
};

export function errorResponse(name: ErrorResponseName): Response {
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

export function errors(...names: ErrorResponseName[]): Record<string, Reference> {
  const all: ErrorResponseName[] = [...names, 'InternalError'];
  return Object.fromEntries(all.map((name) => [String(ERROR_RESPONSES[name]), response(name)]));
}

/** Errors of the log routes that are not part of tlog-tiles: OperationOutcome as plain JSON. */
export const logErrorResponse = (description: string): Response => ({
  description: `${description} (a FHIR OperationOutcome).`,
  content: { [JSON_TYPE]: { schema: schema('OperationOutcome') } },
});

export function bitTable(
  table: Readonly<Record<string, { readonly bit: number; readonly display: string }>>,
) {
  return Object.entries(table)
    .map(([name, info]) => `\`${name}\` = bit ${info.bit} (${info.display})`)
    .join('; ');
}

export function typeString(primary: keyof typeof consentTypes): string {
  const own = `${primary}(${consentTypes[primary].map((field) => `${field.type} ${field.name}`).join(',')})`;
  // EIP-712 encodeType: a Grant references Terms, appended after it.
  return primary === 'Grant' ? own + typeString('Terms') : own;
}

/** The EIP-712 types a primary type needs: a Grant nests its Terms (decision 0013). */
export const typesOf = (
  primary: keyof typeof consentTypes,
): Record<string, readonly { readonly name: string; readonly type: string }[]> =>
  primary === 'Grant'
    ? { Grant: consentTypes.Grant, Terms: consentTypes.Terms }
    : { [primary]: consentTypes[primary] };

export function eip712Description(primary: keyof typeof consentTypes, what: string): string {
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

export const eip712Extension = (primary: keyof typeof consentTypes) => ({
  primaryType: primary,
  domain: { name: CONSENT_DOMAIN_NAME, version: CONSENT_DOMAIN_VERSION },
  domainFrom: {
    chainId: 'GET /status → chain.chainId',
    verifyingContract: 'GET /status → chain.contracts.consentRegistry',
  },
  types: typesOf(primary),
});

/** Exhaustive by type: a new denial reason or outbox status does not compile until it is listed. */
export const DENIAL_REASONS: Record<Extract<ConsentDecision, { allowed: false }>['reason'], true> = {
  'no-grant': true,
  revoked: true,
  'not-yet-valid': true,
  expired: true,
  'not-covered': true,
  'opening-missing': true,
  'opening-mismatch': true,
  'delegation-not-in-force': true,
};
export const DECISION_VIA: Record<Extract<ConsentDecision, { allowed: true }>['via'], true> = {
  grantee: true,
  organization: true,
};
export const OUTBOX_STATUSES: Record<OutboxStatus, true> = { sent: true, confirmed: true, failed: true };

export const uint = (description: string, maxHexDigits = 64): JsonSchema => ({
  description: `${description} A non-negative integer: a decimal string, a 0x hex string, or a JSON number up to 2^53 - 1.`,
  type: ['string', 'integer'],
  pattern: `^(0|[1-9][0-9]{0,77}|0x[0-9a-fA-F]{1,${maxHexDigits}})$`,
  minimum: 0,
});

export const nullable = (type: JsonType): JsonType[] => [type, 'null'];
