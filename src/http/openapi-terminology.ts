/**
 * The OpenAPI description of ValueSet/$expand (R4 valueset-operation-expand.html; issue 13), kept out of
 * openapi.ts so that file does not grow; openapi.ts passes its own helpers in.
 */
import type { Operation, OperationHelpers, Parameter } from './openapi-types.js';

type ErrorName = 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'Unprocessable' | 'Unavailable';

type Helpers = OperationHelpers<ErrorName>;

const FHIR_JSON = 'application/fhir+json';

const valueSetId: Parameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The id of a ValueSet stored on this node.',
  schema: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' },
  example: 'vitals',
};

const paging: Parameter[] = [
  {
    name: 'filter',
    in: 'query',
    required: false,
    description: 'Only codes whose code or display contains this text (case-insensitive).',
    schema: { type: 'string' },
  },
  {
    name: 'count',
    in: 'query',
    required: false,
    description: 'Codes to return (default 100, at most 1000).',
    schema: { type: 'integer', minimum: 0, maximum: 1000 },
  },
  {
    name: 'offset',
    in: 'query',
    required: false,
    description: 'Matching codes to skip.',
    schema: { type: 'integer', minimum: 0 },
  },
];

const url: Parameter = {
  name: 'url',
  in: 'query',
  required: false,
  description: 'The canonical URL of the ValueSet (stored on this node, or a shipped R4 / HL7 v2 one).',
  schema: { type: 'string' },
  example: 'http://hl7.org/fhir/ValueSet/observation-category',
};

const DESCRIPTION =
  'Expands a ValueSet without a terminology server: the node’s own ValueSets and CodeSystems (read only where the requester may read them, audited as a read) before the shipped R4 and HL7 v2 definitions, the same expansion `:in` / `:not-in` use. Answers the ValueSet with `expansion` (identifier, timestamp, total, offset, parameter, contains). What needs a terminology server (a filter such as SNOMED is-a, an implicit `?fhir_vs` ValueSet, a code system not held in full) is a 422 OperationOutcome with code `not-supported`; an unknown ValueSet a 404 with `not-found`; each names the reason.';

export function terminologyPaths(h: Helpers): Record<string, Record<string, Operation>> {
  const answer = (operationId: string, summary: string, parameters: Parameter[], post: boolean) => ({
    operationId,
    summary,
    description: DESCRIPTION,
    tags: ['fhir'],
    parameters,
    ...(post
      ? {
          requestBody: {
            required: true,
            description: 'A Parameters resource: url, valueSet (inline), filter, count, offset.',
            content: { [FHIR_JSON]: { schema: { type: 'object' as const } } },
          },
        }
      : {}),
    responses: {
      '200': {
        description: 'The ValueSet with its expansion.',
        content: { [FHIR_JSON]: { schema: { type: 'object' as const } } },
      },
      ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'Unprocessable', 'Unavailable'),
    },
  });
  return {
    '/fhir/ValueSet/$expand': {
      get: answer('fhirValueSetExpand', 'ValueSet $expand by canonical url', [url, ...paging], false),
      post: answer(
        'fhirValueSetExpandPost',
        'ValueSet $expand with a Parameters body (url or an inline valueSet)',
        paging,
        true,
      ),
    },
    '/fhir/ValueSet/{id}/$expand': {
      get: answer(
        'fhirValueSetExpandInstance',
        'ValueSet $expand of a stored ValueSet',
        [valueSetId, ...paging],
        false,
      ),
      post: answer(
        'fhirValueSetExpandInstancePost',
        'ValueSet $expand of a stored ValueSet, with a Parameters body',
        [valueSetId, ...paging],
        true,
      ),
    },
  };
}
