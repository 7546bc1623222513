/**
 * The OpenAPI description of the supply chain (issue 19, decision 0023), kept out of openapi.ts so
 * that file does not grow. EPCIS 2.0 capture and query answer errors as RFC 7807 problem details with
 * the EPCIS exception as `type`; the `/supply` routes answer OperationOutcome like the rest.
 * These routes exist only on a node whose deployment names a SupplyChain contract.
 */
import type { JsonSchema, Operation, OperationHelpers, Response } from './openapi-types.js';

type ErrorName = 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'Unprocessable' | 'Unavailable';
type Helpers = OperationHelpers<ErrorName>;

const PROBLEM: JsonSchema = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', pattern: '^epcisException:[A-Za-z]+$' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    reason: { type: 'string', description: 'CareLedger reason code, e.g. missing-property, suspect.' },
    event: { type: 'integer', description: 'Index of the event at fault in epcisBody.eventList.' },
    captured: { type: 'integer', description: 'Events of the document captured before the refusal.' },
    captureID: { type: 'string', description: 'The capture job the refused capture left.' },
  },
};

/** OPTIONS: the server settings in GS1-* headers (EPCIS 2.0 REST binding). */
const settings = (operationId: string): Operation => ({
  operationId,
  summary:
    'EPCIS server settings: GS1-EPCIS-Version/Min/Max, GS1-CBV-Version, GS1-EPCIS-Capture-Limit, GS1-Capture-Error-Behaviour',
  tags: ['supply'],
  responses: { '204': { description: 'The settings, in response headers.' } },
});

const CAPTURE_JOB: JsonSchema = {
  type: 'object',
  required: ['captureID', 'createdAt', 'running', 'success', 'captureErrorBehaviour', 'errors'],
  properties: {
    captureID: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    finishedAt: { type: 'string', format: 'date-time' },
    running: { type: 'boolean' },
    success: { type: 'boolean' },
    captureErrorBehaviour: { type: 'string', enum: ['rollback', 'proceed'] },
    errors: { type: 'array', items: PROBLEM },
    eventIDs: { type: 'array', items: { type: 'string' } },
  },
};

const problem = (description: string): Response => ({
  description,
  content: { 'application/problem+json': { schema: PROBLEM } },
});

const NOT_FOUND = problem('epcisException:NoSuchResourceException.');

const EPCIS_ERRORS = {
  '400': problem('epcisException:ValidationException or QueryParameterException.'),
  '401': problem('epcisException:SecurityException: no credentials.'),
  '403': problem("epcisException:SecurityException: not this member's staff, or no suitable scope."),
  '413': problem('epcisException:CaptureLimitExceededException.'),
} as const;

const PACK: JsonSchema = {
  type: 'object',
  description:
    'One of: `datamatrix` (GS1 element string as scanned, FNC1 as ASCII 29, or `(01)…(21)…`), `digitalLink`, or `gtin` + `serial` (+ `lot`, `expiry` YYYY-MM-DD).',
  properties: {
    datamatrix: { type: 'string' },
    digitalLink: { type: 'string', format: 'uri' },
    gtin: { type: 'string', pattern: '^[0-9]{8,14}$' },
    serial: { type: 'string' },
    lot: { type: 'string' },
    expiry: { type: 'string', format: 'date' },
  },
};

export function supplyPaths(h: Helpers): Record<string, Record<string, Operation>> {
  return {
    ...epcisRestPaths(h),
    '/epcis/capture': {
      options: settings('epcisCaptureSettings'),
      get: {
        operationId: 'listEpcisCaptureJobs',
        summary: 'The capture jobs of this node, oldest first (perPage, nextPageToken; Link rel="next")',
        tags: ['supply'],
        parameters: [
          { name: 'perPage', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
          { name: 'nextPageToken', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'Capture jobs.', content: h.json({ type: 'array', items: CAPTURE_JOB }) },
          ...EPCIS_ERRORS,
        },
      },
      post: {
        operationId: 'captureEpcis',
        summary: 'EPCIS 2.0 capture: an EPCISDocument (JSON-LD) of events at this trading partner',
        description:
          "The document is checked whole. Each event's EPCIS event hash goes into this node's transparency log, the event is stored for query, and ObjectEvents on SGTINs with bizStep commissioning, shipping, receiving, dispensing, decommissioning or destroying are written to SupplyChain through the outbox and mined, in document order. A pack shipped twice, or received by a member it was not shipped to, is flagged suspect on the ledger and the event refused (reason `suspect`). Commissioning needs ilmd cbvmda:lotNumber and cbvmda:itemExpirationDate; shipping names the receiving member as an owning_party destination ending in its ledger address.",
        tags: ['supply'],
        requestBody: { required: true, content: { 'application/ld+json': { schema: { type: 'object' } } } },
        responses: {
          '202': {
            description:
              'Captured: the capture id and, per event, its hash, log index and ledger transactions.',
            content: h.json({ type: 'object', required: ['captureID', 'events'] }),
          },
          ...EPCIS_ERRORS,
        },
      },
    },
    '/epcis/events': {
      options: settings('epcisEventsSettings'),
      post: {
        operationId: 'captureEpcisEvent',
        summary: 'EPCIS 2.0 capture of one event (JSON-LD, with its @context)',
        tags: ['supply'],
        requestBody: { required: true, content: { 'application/ld+json': { schema: { type: 'object' } } } },
        responses: {
          '201': {
            description: 'Captured; Location names the event (`/epcis/events/{eventID}`).',
            content: h.json({ type: 'object', required: ['captureID', 'eventID'] }),
          },
          ...EPCIS_ERRORS,
        },
      },
      get: {
        operationId: 'queryEpcisEvents',
        summary: 'EPCIS 2.0 query over the events captured here (SimpleEventQuery parameters)',
        description:
          'Parameters: eventType, GE_eventTime, LT_eventTime, GE_recordTime, LT_recordTime, EQ_action, EQ_bizStep, EQ_disposition, EQ_bizLocation, EQ_readPoint, EQ_eventID, MATCH_epc, MATCH_parentID, MATCH_inputEPC, MATCH_outputEPC, MATCH_anyEPC (exact EPCs in URN or Digital Link form, or a Digital Link prefix ending in *), perPage, nextPageToken. The next page is announced in a Link header (rel="next").',
        tags: ['supply'],
        parameters: [
          { name: 'eventType', in: 'query', schema: { type: 'string' }, example: 'ObjectEvent' },
          { name: 'EQ_bizStep', in: 'query', schema: { type: 'string' }, example: 'shipping' },
          { name: 'MATCH_anyEPC', in: 'query', schema: { type: 'string' } },
          { name: 'GE_eventTime', in: 'query', schema: { type: 'string', format: 'date-time' } },
          { name: 'LT_eventTime', in: 'query', schema: { type: 'string', format: 'date-time' } },
          { name: 'perPage', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
        ],
        responses: {
          '200': {
            description: 'An EPCISQueryDocument.',
            content: { 'application/ld+json': { schema: { type: 'object' } } },
          },
          ...EPCIS_ERRORS,
        },
      },
    },
    '/supply/verify': {
      post: {
        operationId: 'verifyPack',
        summary: 'Verify a pack (GS1 Lightweight Messaging Standard answers) with its chain of custody',
        description:
          "`data` holds the GS1 LMS fields (verified, verificationFailureReason, additionalInfo); `verdict` is one of verified, no-match-gtin-serial, lot-mismatch, expiry-mismatch, lot-expiry-mismatch, recalled, suspect, already-dispensed, destroyed, expired. `custody` lists the ledger steps the asking member took part in. Open to this member's staff and to other members' systems.",
        tags: ['supply'],
        requestBody: { required: true, content: h.json(PACK) },
        responses: {
          '200': { description: 'The verification response.', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'Unavailable'),
        },
      },
    },
    '/supply/recalls': {
      post: {
        operationId: 'recallPacks',
        summary: 'Recall a lot (`gtin`, `lot`) or one serial (`gtin`, `serial`), as its manufacturer',
        tags: ['supply'],
        requestBody: { required: true, content: h.json({ type: 'object', required: ['gtin'] }) },
        responses: {
          '202': { description: 'Recalled on the ledger (mined).', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'Unprocessable', 'Unavailable'),
        },
      },
    },
    '/supply/recalls/reach': {
      get: {
        operationId: 'recallReach',
        summary: 'How many patients a recall of a lot reached, per member (counts only)',
        tags: ['supply'],
        parameters: [
          { name: 'gtin', in: 'query', schema: { type: 'string' }, example: '09506000134352' },
          { name: 'lot', in: 'query', schema: { type: 'string' }, example: 'L1' },
          { name: 'lotKey', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'Per-member counts and their total.', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'Unavailable'),
        },
      },
    },
  };
}

/** The rest of the EPCIS 2.0 REST binding built here, and the GLN directory. */
function epcisRestPaths(h: Helpers): Record<string, Record<string, Operation>> {
  const ld = { 'application/ld+json': { schema: { type: 'object' } as JsonSchema } };
  return {
    '/epcis': { options: settings('epcisSettings') },
    '/epcis/capture/{captureID}': {
      get: {
        operationId: 'getEpcisCaptureJob',
        summary: 'A capture job: running, success, its errors as problem details, the eventIDs captured',
        tags: ['supply'],
        parameters: [
          {
            name: 'captureID',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: '7f1c2d9e-0000-4000-8000-000000000000',
          },
        ],
        responses: {
          '200': { description: 'The capture job.', content: h.json(CAPTURE_JOB) },
          '404': NOT_FOUND,
          ...EPCIS_ERRORS,
        },
      },
    },
    '/epcis/events/{eventID}': {
      get: {
        operationId: 'getEpcisEvent',
        summary: 'One event captured here, by its eventID (URL-encoded)',
        tags: ['supply'],
        parameters: [
          {
            name: 'eventID',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: 'ni%3A%2F%2F%2Fsha-256%3B00%3Fver%3DCBV2.0',
          },
        ],
        responses: { '200': { description: 'The event.', content: ld }, '404': NOT_FOUND, ...EPCIS_ERRORS },
      },
    },
    '/epcis/eventTypes': {
      get: {
        operationId: 'listEpcisEventTypes',
        summary: 'The EPCIS event types this node captures and queries',
        tags: ['supply'],
        responses: {
          '200': {
            description: 'Event type names.',
            content: h.json({ type: 'array', items: { type: 'string' } }),
          },
          ...EPCIS_ERRORS,
        },
      },
    },
    '/epcis/eventTypes/{eventType}/events': {
      get: {
        operationId: 'queryEpcisEventsOfType',
        summary: 'EPCIS query restricted to one event type (same parameters as /epcis/events)',
        tags: ['supply'],
        parameters: [
          {
            name: 'eventType',
            in: 'path',
            required: true,
            schema: { type: 'string' },
            example: 'ObjectEvent',
          },
        ],
        responses: {
          '200': { description: 'An EPCISQueryDocument.', content: ld },
          '404': NOT_FOUND,
          ...EPCIS_ERRORS,
        },
      },
    },
    '/supply/glns': {
      get: {
        operationId: 'listMemberGlns',
        summary: 'The GLNs a member claimed in the GLN directory (`member`, default this node)',
        tags: ['supply'],
        parameters: [{ name: 'member', in: 'query', schema: { type: 'string' } }],
        responses: {
          '200': { description: 'The member and its GLNs.', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'Unavailable'),
        },
      },
      post: {
        operationId: 'claimGln',
        summary: 'Claim a GLN (`{gln}`, 13 digits) for this member: shipments to it resolve to this member',
        tags: ['supply'],
        requestBody: { required: true, content: h.json({ type: 'object', required: ['gln'] }) },
        responses: {
          '201': { description: 'Claimed on the ledger (mined).', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'Unprocessable', 'Unavailable'),
        },
      },
    },
    '/supply/glns/{gln}': {
      get: {
        operationId: 'glnOwner',
        summary: 'The member a GLN belongs to',
        tags: ['supply'],
        parameters: [
          { name: 'gln', in: 'path', required: true, schema: { type: 'string' }, example: '9506000000007' },
        ],
        responses: {
          '200': { description: 'The GLN and its member.', content: h.json({ type: 'object' }) },
          ...h.errors('BadRequest', 'Unauthorized', 'Forbidden', 'Unavailable'),
        },
      },
    },
  };
}
