/**
 * The OpenAPI description of the FHIR REST API, kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors, fhirId, fhirJson, fhirType, patchContent } from './openapi-helpers.js';
import type { JsonSchema, PathItem } from './openapi-types.js';

/** The FHIR base: batch and transaction Bundles, system search and system history (decision 0051). */
export function fhirRootPaths(): Record<string, PathItem> {
  const systemSearch = {
    summary:
      'FHIR system search (R4 §3.1.1.3): _type is required (400 without); the parameters common to every listed type (_id, _lastUpdated, _tag, _profile, _security, ...), _count, _offset, _sort=[-]_lastUpdated; each type searched and audited as a type search; others refused under Prefer: handling=strict, else named in an OperationOutcome entry',
    tags: ['fhir'],
    responses: {
      '200': { description: 'A searchset Bundle.', content: fhirJson },
      ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'Unavailable'),
    },
  };
  return {
    '/fhir': {
      get: {
        operationId: 'fhirSearchSystem',
        ...systemSearch,
        parameters: queryParameters(['_type', '_count', '_offset', '_sort']),
      },
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
    '/fhir/_search': {
      post: {
        operationId: 'fhirSearchSystemPost',
        ...systemSearch,
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'string' } as JsonSchema } },
        },
      },
    },
    '/fhir/_history': {
      get: {
        operationId: 'fhirHistorySystem',
        summary:
          'FHIR system history, newest first, of the versions of every type but AuditEvent the requester may see (decided and audited as type history); _since, _at, _count (next links)',
        tags: ['fhir'],
        parameters: queryParameters(['_since', '_at', '_count']),
        responses: {
          '200': { description: 'A history Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'Unavailable'),
        },
      },
    },
  };
}

/** FHIR REST: capability statement, type and instance interactions, $validate, $everything, $summary. */
export function fhirRestPaths(): Record<string, PathItem> {
  return {
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
          get: {
            operationId: path.includes('{id}') ? 'fhirValidateInstanceGet' : 'fhirValidateTypeGet',
            summary:
              '$validate by GET: the stored resource (instance level; read and audited as a read) checked as is, as an update (mode=update) or for a delete (mode=delete), optionally against a profile; at type level there is no resource (400)',
            tags: ['fhir'],
            parameters: [
              fhirType,
              ...(path.includes('{id}') ? [fhirId] : []),
              ...queryParameters(['mode', 'profile']),
            ],
            responses: {
              '200': { description: 'An OperationOutcome with the issues found.', content: fhirJson },
              ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
            },
          },
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
        summary:
          'Patient $everything: the patient and every resource in their compartment (audited); _type, _since, _count (next links); start/end select by care date (Encounter.period, Observation.effective, Condition onset or recordedDate, ...), records with none are kept',
        tags: ['fhir'],
        parameters: [fhirId, ...queryParameters(['_type', '_since', '_count', 'start', 'end'])],
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
  };
}

/** The history of a resource type. */
export function fhirTypeHistoryPaths(): Record<string, PathItem> {
  return {
    '/fhir/{type}/_history': {
      get: {
        operationId: 'fhirHistoryType',
        summary:
          'FHIR type history, newest first, of the versions the requester may see; _since, _at, _count (next links)',
        tags: ['fhir'],
        parameters: [fhirType, ...queryParameters(['_since', '_at', '_count'])],
        responses: {
          '200': { description: 'A history Bundle.', content: fhirJson },
          ...errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unavailable'),
        },
      },
    },
  };
}

/** Optional string query parameters of an interaction or operation. */
function queryParameters(names: readonly string[]) {
  return names.map((name) => ({
    name,
    in: 'query' as const,
    required: false,
    schema: { type: 'string' } as JsonSchema,
  }));
}

/** An instance's history and its versions. */
export function fhirVersionPaths(): Record<string, PathItem> {
  return {
    '/fhir/{type}/{id}/_history': {
      get: {
        operationId: 'fhirHistoryInstance',
        summary: 'FHIR instance history, newest first; _since, _at, _count (next links)',
        tags: ['fhir'],
        parameters: [fhirType, fhirId, ...queryParameters(['_since', '_at', '_count'])],
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
  };
}
