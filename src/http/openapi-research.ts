/**
 * The OpenAPI description of the research registry's routes at a member (issue 18, decision 0024),
 * kept out of openapi.ts so that file does not grow; openapi.ts passes its own helpers in. These
 * routes exist on a node whose deployment names a ResearchRegistry.
 */
import type { JsonSchema, Operation, OperationHelpers, Parameter } from './openapi-types.js';

type ErrorName =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'PreconditionFailed'
  | 'Unprocessable'
  | 'Unavailable';

type Helpers = OperationHelpers<ErrorName>;

const BYTES32: JsonSchema = { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' };
const STUDY_ID: Parameter = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The study id (bytes32).',
  schema: BYTES32,
  example: '0x5c0a2b4d2bb6f1b6b2f0a3a37c7f1cba1a5c08d9f4ef7e6c2e4d6bb01f0a2c11',
};

export function researchPaths(h: Helpers): Record<string, Record<string, Operation>> {
  const study: JsonSchema = {
    type: 'object',
    required: ['id', 'status', 'researcher', 'period', 'k', 'categories', 'resourceTypes', 'join'],
    description:
      'A study as the node indexes ResearchRegistry: hashes, categories, types, period and k (no patient data), its votes and releases, how a patient joins (an EIP-712 grant to `join.grantee` with purpose HRESCH and the categories) and what they would share.',
    properties: {
      id: BYTES32,
      status: { enum: ['proposed', 'approved', 'open', 'closed'] },
      researcher: h.schema('Address'),
      protocol: {
        type: ['object', 'null'],
        description:
          'Title and summary whose hash is protocolHash (checked by the node); null when no member serves them.',
      },
      protocolHash: BYTES32,
      profileHash: BYTES32,
      period: { type: 'object' },
      k: { type: 'integer', minimum: 2 },
      categories: { type: 'array', items: { type: 'string' } },
      resourceTypes: { type: 'array', items: { type: 'string' } },
      ethicsBoards: { type: 'array', items: h.schema('Address') },
      releases: { type: 'array', items: { type: 'object' } },
      join: { type: 'object' },
      patientWouldShare: { type: 'object' },
    },
  };
  const write = (operationId: string, summary: string, description: string): Operation => ({
    operationId,
    summary,
    description,
    tags: ['admin'],
    security: [{ operatorToken: [] }],
    parameters: [STUDY_ID],
    responses: {
      '200': { description: 'Mined; the study as the index now holds it.', content: h.json(study) },
      ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound', 'PreconditionFailed', 'Unavailable'),
    },
  });
  return {
    '/research/studies': {
      get: {
        operationId: 'listStudies',
        summary: 'The consortium’s research studies, from this node’s index',
        tags: ['ledger'],
        parameters: [
          {
            name: 'status',
            in: 'query',
            required: false,
            schema: { enum: ['proposed', 'approved', 'open', 'closed'] },
          },
        ],
        responses: {
          '200': {
            description: 'Every study, oldest proposal first.',
            content: h.json({
              type: 'object',
              required: ['studies'],
              properties: { studies: { type: 'array', items: study } },
            }),
          },
          ...h.errors('BadRequest'),
        },
      },
    },
    '/admin/research/studies': {
      post: {
        operationId: 'proposeStudy',
        summary: 'Propose a study (this node must be a research member)',
        description:
          'Proposed on ResearchRegistry through the node’s outbox, and answered once mined. Refusals carry the contract’s reason (not a research member, period, k, ethics boards).',
        tags: ['admin'],
        security: [{ operatorToken: [] }],
        requestBody: {
          required: true,
          content: h.json({
            type: 'object',
            required: ['id', 'profileHash', 'categories', 'resourceTypes', 'notBefore', 'notAfter', 'k'],
            properties: {
              id: BYTES32,
              protocol: {
                type: 'object',
                description:
                  'Title and summary a patient can read; kept in this member’s database, its hash proposed as protocolHash.',
                properties: { title: { type: 'string' }, summary: { type: 'string' } },
              },
              protocolHash: {
                ...BYTES32,
                description: 'Required without `protocol`; with it, must be its hash.',
              },
              profileHash: BYTES32,
              categories: { type: 'array', items: { type: 'string' }, minItems: 1 },
              resourceTypes: { type: 'array', items: { type: 'string' }, minItems: 1 },
              notBefore: { type: 'string', format: 'date-time' },
              notAfter: { type: 'string', format: 'date-time' },
              k: { type: 'integer', minimum: 2 },
              ethicsBoards: { type: 'array', items: h.schema('Address') },
            },
          }),
        },
        responses: {
          '201': { description: 'Mined; the study as indexed.', content: h.json(study) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'PreconditionFailed', 'Unavailable'),
        },
      },
    },
    '/research/studies/{id}': {
      get: {
        operationId: 'getStudy',
        summary: 'One study: status, period, k, categories, types and what a patient would share',
        tags: ['ledger'],
        parameters: [STUDY_ID],
        responses: {
          '200': { description: 'The study.', content: h.json(study) },
          ...h.errors('BadRequest', 'NotFound'),
        },
      },
    },
    '/research/studies/{id}/protocol': {
      get: {
        operationId: 'getStudyProtocol',
        summary: 'The study’s title and summary, whose SHA-256 (canonical JSON) is its on-chain protocolHash',
        description:
          'Public, no patient data. Served from this member’s database, or taken from the researcher’s node and kept only if its hash is the study’s (decision 0035).',
        tags: ['ledger'],
        parameters: [STUDY_ID],
        responses: {
          '200': {
            description: 'The protocol document.',
            content: h.json({
              type: 'object',
              required: ['title', 'summary'],
              properties: { title: { type: 'string' }, summary: { type: 'string' } },
            }),
          },
          ...h.errors('BadRequest', 'NotFound'),
        },
      },
    },
    '/admin/research/studies/{id}/approvals': {
      post: write(
        'approveStudy',
        'Approve a proposed study as this member',
        'A named ethics board, or (when the study names none) any active member but the researcher; every board, or a majority of the active members, approves it.',
      ),
    },
    '/admin/research/studies/{id}/open': {
      post: write(
        'openStudy',
        'Open an approved study (its researcher)',
        'From now on releases may be anchored.',
      ),
    },
    '/admin/research/studies/{id}/close': {
      post: write(
        'closeStudy',
        'Close a study: its researcher closes it; any other member votes to close it',
        'A majority of the active members closes a study by vote. No release is anchored for a closed study.',
      ),
    },
    '/research/credits': {
      get: {
        operationId: 'getResearchCredits',
        summary: 'The signed-in patient’s contribution credits, per study',
        description:
          'Credits sit on per-study addresses derived from the patient’s grant salts (decision 0024); this node holds the openings of the patient’s research grants and derives them.',
        tags: ['ledger'],
        responses: {
          '200': {
            description: 'Per study: the grant, the credit address and its credits (decimal strings).',
            content: h.json({
              type: 'object',
              required: ['total', 'studies'],
              properties: {
                total: { type: 'string' },
                studies: { type: 'array', items: { type: 'object' } },
              },
            }),
          },
          ...h.errors('Unauthorized', 'Forbidden'),
        },
      },
    },
    '/research/feasibility': {
      post: {
        operationId: 'researchFeasibility',
        summary: 'Feasibility counts over this member’s consenting patients; cells below k suppressed',
        description:
          'For the node operator or a research member’s system. Counts the patients who joined research in general (or the named study) and match a resource type and code, a sex and an age band, broken down by sex and/or age band. A cell with fewer than k patients is `null`; nothing but counts is returned. Audited in the node’s log.',
        tags: ['ledger'],
        requestBody: {
          required: true,
          content: h.json({
            type: 'object',
            properties: {
              studyId: BYTES32,
              resourceType: { type: 'string' },
              code: { type: 'string', description: 'system|code, as a FHIR token search.' },
              sex: { enum: ['female', 'male', 'other', 'unknown'] },
              ageBand: { type: 'string', examples: ['50-59', '90+'] },
              groupBy: { type: 'array', items: { enum: ['sex', 'ageBand'] } },
              k: { type: 'integer', minimum: 2 },
            },
          }),
        },
        responses: {
          '200': {
            description: 'Counts, small cells suppressed.',
            content: h.json({
              type: 'object',
              required: ['k', 'total', 'cells'],
              properties: {
                k: { type: 'integer' },
                total: { type: ['integer', 'null'] },
                cells: { type: 'array', items: { type: 'object' } },
              },
            }),
          },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'NotFound'),
        },
      },
    },
  };
}
