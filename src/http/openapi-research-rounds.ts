/**
 * The OpenAPI description of k across members and release rounds (issue 18, decision 0041):
 * `POST /research/k-rounds/{round}` at the coordinating data member, and `/admin/research/releases`
 * and `/admin/research/anchors` at the research member (src/research/release/release-round-routes.ts).
 */
import type { JsonSchema, Operation, OperationHelpers, Parameter } from './openapi-types.js';

type ErrorName =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'PreconditionFailed'
  | 'Unavailable';

const BYTES32: JsonSchema = { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' };
const ROUND: Parameter = {
  name: 'round',
  in: 'path',
  required: true,
  description: 'The round id the research member chose (8 to 64 letters, digits or dashes).',
  schema: { type: 'string', pattern: '^[A-Za-z0-9-]{8,64}$' },
  example: '3b8c1d2e-4f50-4a61-8b72-9c83d4e5f601',
};
const MEMBER: Parameter = {
  name: 'member',
  in: 'path',
  required: true,
  description: 'The ledger address of the member whose release it is.',
  schema: { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$' },
  example: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
};
const FILE: Parameter = {
  name: 'file',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[A-Za-z]{1,64}(-[0-9]{1,6})?\\.ndjson$' },
  example: 'Observation-1.ndjson',
};
const STUDY: Parameter = {
  name: 'study',
  in: 'path',
  required: true,
  description: 'The study id (bytes32).',
  schema: BYTES32,
  example: '0x5c0a2b4d2bb6f1b6b2f0a3a37c7f1cba1a5c08d9f4ef7e6c2e4d6bb01f0a2c11',
};
const HASH: Parameter = {
  name: 'hash',
  in: 'path',
  required: true,
  description: 'SHA-256 of the manifest’s canonical JSON.',
  schema: BYTES32,
  example: '0x1f3a0c5d7e9b2a4c6e8f0a1b3c5d7e9f1a2b3c4d5e6f708192a3b4c5d6e7f809',
};
const ROUND_VIEW: JsonSchema = {
  type: 'object',
  required: ['id', 'studyId', 'startedAt', 'state', 'members'],
  description:
    'Each data member’s part: running (with its X-Progress), done (its manifest and the manifest’s hash) or failed (its reason).',
  properties: {
    id: { type: 'string' },
    studyId: BYTES32,
    startedAt: { type: 'string', format: 'date-time' },
    state: { enum: ['running', 'done', 'failed'] },
    members: { type: 'array', items: { type: 'object' } },
  },
};

export function researchRoundPaths(
  h: OperationHelpers<ErrorName>,
): Record<string, Record<string, Operation>> {
  const operator = [{ operatorToken: [] }];
  return {
    '/research/k-rounds/{round}': {
      post: {
        operationId: 'kRoundSubmit',
        summary: 'A data member’s entries for a k round across members (at the coordinating member)',
        description:
          'Body `{ studyId, entries: [{ link, classKey }] }`: per cohort patient a keyed link (HMAC under the study key, the same at every member) and the class key of the de-identified Patient, nothing else. Held until every active data member has sent its entries (202 if the hold ends first: ask again); then 200 with this member’s links to leave out and the round’s counts. Member tokens only; refused unless this member coordinates (the lowest address among the data members).',
        tags: ['fhir'],
        parameters: [ROUND],
        requestBody: {
          required: true,
          content: h.json({
            type: 'object',
            required: ['studyId', 'entries'],
            properties: { studyId: BYTES32, entries: { type: 'array', items: { type: 'object' } } },
          }),
        },
        responses: {
          '200': {
            description: 'Decided: `{ decision: { suppress, counts }, members }`.',
            content: h.json({ type: 'object', required: ['decision', 'members'] }),
          },
          '202': {
            description: 'Not every data member has sent its entries yet: `{ missing }`.',
            content: h.json({ type: 'object', required: ['missing'] }),
          },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'PreconditionFailed'),
        },
      },
    },
    '/admin/research/releases': {
      post: {
        operationId: 'releaseRoundStart',
        summary:
          'Start a release of a study at every member holding data, as one k round (the research member)',
        description:
          'Body `{ studyId }`. Kicks off `POST /research/studies/{id}/$export?round=` at each active data member with this member’s SMART Backend Services token. Refused with the reason: not-the-researcher (403), study-not-open or study-closed (412).',
        tags: ['admin'],
        security: operator,
        requestBody: {
          required: true,
          content: h.json({ type: 'object', required: ['studyId'], properties: { studyId: BYTES32 } }),
        },
        responses: {
          '202': { description: 'Started: the round.', content: h.json(ROUND_VIEW) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'PreconditionFailed'),
        },
      },
      get: {
        operationId: 'releaseRoundList',
        summary: 'The release rounds this node started since it last started',
        tags: ['admin'],
        security: operator,
        responses: {
          '200': {
            description: '`{ rounds }`.',
            content: h.json({
              type: 'object',
              required: ['rounds'],
              properties: { rounds: { type: 'array', items: ROUND_VIEW } },
            }),
          },
          ...h.errors('Unauthorized'),
        },
      },
    },
    '/admin/research/releases/{round}': {
      get: {
        operationId: 'releaseRoundStatus',
        summary: 'A release round, each running member’s status asked once more',
        tags: ['admin'],
        security: operator,
        parameters: [ROUND],
        responses: {
          '200': { description: 'The round.', content: h.json(ROUND_VIEW) },
          ...h.errors('Unauthorized', 'NotFound'),
        },
      },
    },
    '/admin/research/releases/{round}/files/{member}/{file}': {
      get: {
        operationId: 'releaseRoundFile',
        summary: 'A released NDJSON file of one member, relayed with this member’s token',
        tags: ['admin'],
        security: operator,
        parameters: [ROUND, MEMBER, FILE],
        responses: {
          '200': {
            description: 'FHIR NDJSON; its SHA-256 is in that member’s manifest.',
            content: { 'application/fhir+ndjson': { schema: { type: 'string' } } },
          },
          ...h.errors('Unauthorized', 'NotFound', 'Unavailable'),
        },
      },
    },
    '/admin/research/anchors/{study}/{hash}': {
      get: {
        operationId: 'releaseRoundAnchor',
        summary: 'The release anchored in ResearchRegistry under a manifest hash the caller computed',
        tags: ['admin'],
        security: operator,
        parameters: [STUDY, HASH],
        responses: {
          '200': {
            description:
              'The anchor: member, profile hash, consent block, records, suppressed patients, block.',
            content: h.json({
              type: 'object',
              required: ['studyId', 'manifestHash', 'records', 'suppressed'],
            }),
          },
          ...h.errors('Unauthorized', 'NotFound'),
        },
      },
    },
  };
}
