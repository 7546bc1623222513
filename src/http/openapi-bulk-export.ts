/** The OpenAPI description of FHIR Bulk Data `$export` (src/export), assembled by openapi.ts. */
import { errors, fhirId, fhirJson, json, RETRY_AFTER } from './openapi-helpers.js';
import type { Operation, Parameter } from './openapi-types.js';

/** FHIR Bulk Data v2 `$export` (src/export): kick-off at three levels, status, deletion, files. */
export function bulkExportPaths(): Record<string, Record<string, Operation>> {
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
