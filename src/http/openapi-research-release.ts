/**
 * The OpenAPI description of a member's study release routes (issue 18 items 3 and 4,
 * src/research/release/release-routes.ts), kept out of openapi.ts so that file does not grow.
 */
import type { JsonSchema, Operation, OperationHelpers, Parameter } from './openapi-types.js';

type ErrorName =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'Gone'
  | 'PreconditionFailed'
  | 'TooManyRequests'
  | 'InternalError'
  | 'Unavailable';

const BYTES32: JsonSchema = { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' };
const STUDY_ID: Parameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The study id (bytes32).',
  schema: BYTES32,
  example: '0x5c0a2b4d2bb6f1b6b2f0a3a37c7f1cba1a5c08d9f4ef7e6c2e4d6bb01f0a2c11',
};
const JOB: Parameter = {
  name: 'job',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z0-9-]{1,64}$' },
  example: '6f1c2e0a-5b7d-4e0f-9a55-0d1b8e2f4c11',
};
const FILE: Parameter = {
  name: 'file',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z]{1,64}(-[0-9]{1,6})?\\.ndjson$' },
  example: 'Observation-1.ndjson',
};
const HASH: Parameter = {
  name: 'hash',
  in: 'path',
  required: true,
  description: 'SHA-256 of the manifest’s canonical JSON.',
  schema: BYTES32,
  example: '0x1f3a0c5d7e9b2a4c6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809',
};

export function researchReleasePaths(
  h: OperationHelpers<ErrorName>,
): Record<string, Record<string, Operation>> {
  const manifest: JsonSchema = {
    type: 'object',
    required: ['transactionTime', 'request', 'requiresAccessToken', 'output', 'error', 'extension'],
    description:
      'A Bulk Data manifest whose files carry `extension.sha256`, and whose `extension` names the study, the member, the profile’s hash, the consent snapshot’s block, k and the counts (records, suppressed patients and records, classes). No patient data.',
    properties: {
      transactionTime: { type: 'string' },
      request: { type: 'string' },
      requiresAccessToken: { const: true },
      output: { type: 'array', items: { type: 'object' } },
      error: { type: 'array', items: { type: 'object' } },
      extension: { type: 'object' },
    },
  };
  return {
    '/research/studies/{id}/$export': {
      post: {
        operationId: 'studyReleaseKickOff',
        summary:
          'Kick off a de-identified release of a study’s consenting cohort held here (its researcher only)',
        description:
          'Needs `Prefer: respond-async`. Where more than one member holds data, a release is one round across all of them (`round`, decision 0041): k is decided over the union of their files. Refused with the reason (details.reason): not-the-researcher (403), study-not-open, study-closed, outside-period, profile-mismatch, round-required (412); one release of a study at a time per member (429).',
        tags: ['fhir'],
        parameters: [
          STUDY_ID,
          {
            name: 'round',
            in: 'query',
            required: false,
            description: 'The k round across members this release is part of (set by the research member).',
            schema: { type: 'string', pattern: '^[A-Za-z0-9-]{8,64}$' },
          },
        ],
        responses: {
          '202': {
            description: 'Accepted; Content-Location is the status URL.',
            headers: { 'Content-Location': { description: 'Status URL.', schema: { type: 'string' } } },
          },
          ...h.errors(
            'BadRequest',
            'Unauthorized',
            'Forbidden',
            'NotFound',
            'PreconditionFailed',
            'TooManyRequests',
          ),
        },
      },
    },
    '/research/studies/{id}/$export-status/{job}': {
      get: {
        operationId: 'studyReleaseStatus',
        summary: 'Status of a study release (its requester only)',
        tags: ['fhir'],
        parameters: [STUDY_ID, JOB],
        responses: {
          '200': { description: 'Sealed and anchored: the release manifest.', content: h.json(manifest) },
          '202': {
            description:
              'Running, sealing or anchoring: X-Progress says which, Retry-After when to ask again.',
            headers: {
              'X-Progress': { description: 'Progress.', schema: { type: 'string' } },
              'Retry-After': { description: 'Seconds.', schema: { type: 'integer' } },
            },
          },
          ...h.errors('Unauthorized', 'NotFound', 'Gone', 'InternalError'),
        },
      },
    },
    '/research/studies/{id}/$export-file/{job}/{file}': {
      get: {
        operationId: 'studyReleaseFile',
        summary: 'One de-identified NDJSON file of a finished release (its requester only)',
        tags: ['fhir'],
        parameters: [STUDY_ID, JOB, FILE],
        responses: {
          '200': {
            description: 'FHIR NDJSON; its SHA-256 is in the manifest.',
            content: { 'application/fhir+ndjson': { schema: { type: 'string' } } },
          },
          ...h.errors('Unauthorized', 'NotFound', 'Gone', 'InternalError'),
        },
      },
    },
    '/research/studies/{id}/releases/{hash}': {
      get: {
        operationId: 'studyReleaseAnchor',
        summary: 'The release anchored on chain under this manifest hash (for `careledger research verify`)',
        tags: ['ledger'],
        parameters: [STUDY_ID, HASH],
        responses: {
          '200': {
            description: 'The anchor: profile hash, consent block, records, suppressed patients.',
            content: h.json({
              type: 'object',
              required: ['studyId', 'manifestHash', 'profileHash', 'consentBlock', 'records', 'suppressed'],
              properties: {
                studyId: BYTES32,
                manifestHash: BYTES32,
                profileHash: BYTES32,
                consentBlock: { type: 'string', pattern: '^[0-9]+$' },
                records: { type: 'integer' },
                suppressed: { type: 'integer' },
              },
            }),
          },
          ...h.errors('Unauthorized', 'NotFound', 'Unavailable'),
        },
      },
    },
  };
}
