/**
 * The OpenAPI description of break-glass access, kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors, fhirId, fhirJson } from './openapi-helpers.js';
import type { PathItem } from './openapi-types.js';

/** Break-glass: declared emergency access and its review. */
export function breakGlassPaths(): Record<string, PathItem> {
  return {
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
  };
}
