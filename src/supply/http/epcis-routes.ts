/**
 * The EPCIS 2.0 REST binding at a member's node (EPCIS 2.0 §12 and its openapi.yaml), mounted at
 * `/epcis`: capture (`POST /capture`, one document; `POST /events`, one event), the capture jobs
 * (`GET /capture`, `GET /capture/{captureID}`), query (`GET /events` with the SimpleEventQuery
 * parameters, `GET /events/{eventID}`, `GET /eventTypes`, `GET /eventTypes/{eventType}/events`), and
 * the server settings `OPTIONS` answers in the GS1-* headers. Errors are RFC 7807 problem details.
 *
 * Not built: AssociationEvent, named queries and subscriptions (`/queries`), the other top-level resources (`/epcs`,
 * `/bizSteps`, `/bizLocations`, `/readPoints`, `/dispositions`), XML bodies.
 */
import { type Context, Hono } from 'hono';
import { CareLedgerError } from '../../errors/index.js';
import { readJsonBody } from '../../http/read-json-body.js';
import type { CaptureErrorBehaviour } from '../capture/epcis-capture.js';
import { EPCIS_CONTEXT, queryEpcisEvents } from '../capture/epcis-query.js';
import { MAX_EVENTS_PER_CAPTURE } from '../capture/parse-epcis-document.js';
import type { CaptureError, CaptureJob } from '../storage/supply-store.js';
import { problemResponse, toProblem } from './epcis-problem.js';
import { authorize, type SupplyRouteDeps } from './supply-routes.js';

export const EPCIS_EVENT_TYPES = [
  'ObjectEvent',
  'AggregationEvent',
  'TransactionEvent',
  'TransformationEvent',
] as const;

/** What this server speaks (EPCIS 2.0 §12.3, the GS1-* headers). */
const SETTINGS: Readonly<Record<string, string>> = {
  'GS1-EPCIS-Version': '2.0.0',
  'GS1-EPCIS-Min': '2.0.0',
  'GS1-EPCIS-Max': '2.0.0',
  'GS1-CBV-Version': '2.0.0',
  'GS1-CBV-Min': '2.0.0',
  'GS1-CBV-Max': '2.0.0',
  'GS1-EPC-Format': 'Always_GS1_Digital_Link',
  'GS1-EPCIS-Capture-Limit': String(MAX_EVENTS_PER_CAPTURE),
  'GS1-EPCIS-Capture-File-Size-Limit': String(8 * 1024 * 1024),
  'GS1-Capture-Error-Behaviour': 'rollback, proceed',
  'GS1-Vendor-Version': 'CareLedger',
};

const DEFAULT_JOBS_PER_PAGE = 30;

function errorBehaviourOf(c: Context): CaptureErrorBehaviour {
  const value = c.req.header('GS1-Capture-Error-Behaviour')?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'rollback') return 'rollback';
  if (value === 'proceed') return 'proceed';
  throw new CareLedgerError('ERR_INVALID_INPUT', 'GS1-Capture-Error-Behaviour is rollback or proceed', {
    details: { reason: 'capture-error-behaviour' },
  });
}

/** A capture job as the REST binding shows it: its errors as problem details. */
function jobView(job: CaptureJob): Record<string, unknown> {
  return {
    captureID: job.captureID,
    createdAt: job.createdAt,
    ...(job.finishedAt === undefined ? {} : { finishedAt: job.finishedAt }),
    running: job.running,
    success: job.success,
    captureErrorBehaviour: job.captureErrorBehaviour,
    errors: job.errors.map((error) => problemOf(error, job.captureID)),
    eventIDs: job.eventIDs,
  };
}

function problemOf(error: CaptureError, captureID: string): Record<string, unknown> {
  const asError = new CareLedgerError(error.code as 'ERR_INVALID_INPUT', error.message, {
    details: {
      ...(error.reason === undefined ? {} : { reason: error.reason }),
      ...(error.event === undefined ? {} : { event: error.event }),
    },
  });
  return { ...toProblem(asError, `/epcis/capture/${captureID}`) };
}

function noSuch(what: string): never {
  throw new CareLedgerError('ERR_NOT_FOUND', `no such ${what}`, { details: { reason: 'no-such-resource' } });
}

function pageToken(job: CaptureJob): string {
  return Buffer.from(JSON.stringify({ c: job.createdAt, i: job.captureID })).toString('base64url');
}

function parseJobToken(token: string | undefined): { createdAt: string; captureId: string } | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      c?: unknown;
      i?: unknown;
    };
    if (typeof parsed.c === 'string' && typeof parsed.i === 'string') {
      return { createdAt: parsed.c, captureId: parsed.i };
    }
  } catch {
    // refused below
  }
  throw new CareLedgerError('ERR_INVALID_INPUT', 'nextPageToken is not one this node issued', {
    details: { reason: 'query-parameter', parameter: 'nextPageToken' },
  });
}

/** Routes mounted at `/epcis`. */
export function createEpcisRoutes(deps: SupplyRouteDeps): Hono {
  const app = new Hono();
  app.onError((error, c) => problemResponse(c, error));
  app.use('*', async (c, next) => {
    await next();
    c.header('GS1-EPCIS-Version', SETTINGS['GS1-EPCIS-Version']);
    c.header('GS1-CBV-Version', SETTINGS['GS1-CBV-Version']);
  });

  const settings = (c: Context, allow: string) => {
    for (const [name, value] of Object.entries(SETTINGS)) c.header(name, value);
    c.header('Allow', allow);
    return c.body(null, 204);
  };
  app.options('/', (c) => settings(c, 'OPTIONS, GET'));
  app.options('/capture', (c) => settings(c, 'OPTIONS, GET, POST'));
  app.options('/events', (c) => settings(c, 'OPTIONS, GET, POST'));

  app.post('/capture', async (c) => {
    await authorize(deps, c, 'c', false);
    const behaviour = errorBehaviourOf(c);
    const result = await deps.capture.capture(await readJsonBody(c), behaviour);
    c.header('Location', `/epcis/capture/${result.captureID}`);
    return c.json(result, 202);
  });

  app.get('/capture', async (c) => {
    await authorize(deps, c, 's', false);
    const perPage = Number(c.req.query('perPage') ?? DEFAULT_JOBS_PER_PAGE);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 1_000) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'perPage must be an integer from 1 to 1000', {
        details: { reason: 'query-parameter', parameter: 'perPage' },
      });
    }
    const jobs = await deps.store.captureJobs(perPage + 1, parseJobToken(c.req.query('nextPageToken')));
    const page = jobs.slice(0, perPage);
    const last = page.at(-1);
    if (jobs.length > perPage && last !== undefined) {
      c.header('Link', `</epcis/capture?perPage=${perPage}&nextPageToken=${pageToken(last)}>; rel="next"`);
    }
    return c.json(page.map(jobView));
  });

  app.get('/capture/:captureID', async (c) => {
    await authorize(deps, c, 's', false);
    const job = await deps.store.captureJob(c.req.param('captureID'));
    if (job === undefined) noSuch('capture job');
    return c.json(jobView(job));
  });

  /** One event (EPCIS 2.0 §12: `POST /events`): captured as a one-event document; 201 at its URL. */
  app.post('/events', async (c) => {
    await authorize(deps, c, 'c', false);
    const { '@context': context, ...event } = await readJsonBody(c);
    const result = await deps.capture.capture({
      '@context': context ?? [EPCIS_CONTEXT],
      type: 'EPCISDocument',
      schemaVersion: '2.0',
      creationDate: (deps.now?.() ?? new Date()).toISOString(),
      epcisBody: { eventList: [event] },
    });
    const eventID = result.events[0]?.eventID ?? '';
    c.header('Location', `/epcis/events/${encodeURIComponent(eventID)}`);
    return c.json({ captureID: result.captureID, ...result.events[0] }, 201);
  });

  const query = async (c: Context, extra: Record<string, string> = {}) => {
    await authorize(deps, c, 's', false);
    const url = new URL(c.req.url);
    for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value);
    const result = await queryEpcisEvents(deps.store, url.searchParams, deps.now?.());
    if (result.nextPageToken !== undefined) {
      const next = new URL(c.req.url);
      next.searchParams.set('nextPageToken', result.nextPageToken);
      c.header('Link', `<${next.pathname}${next.search}>; rel="next"`);
    }
    return c.body(JSON.stringify(result.document), 200, { 'content-type': 'application/ld+json' });
  };

  app.get('/events', (c) => query(c));

  app.get('/events/:eventID', async (c) => {
    await authorize(deps, c, 's', false);
    const [event] = await deps.store.queryEvents({ eventIds: [c.req.param('eventID')], limit: 1 });
    if (event === undefined) noSuch('event');
    return c.body(event.json, 200, { 'content-type': 'application/ld+json' });
  });

  app.get('/eventTypes', async (c) => {
    await authorize(deps, c, 's', false);
    return c.json(EPCIS_EVENT_TYPES);
  });

  app.get('/eventTypes/:eventType/events', async (c) => {
    const eventType = c.req.param('eventType');
    if (!(EPCIS_EVENT_TYPES as readonly string[]).includes(eventType)) noSuch('event type');
    if (c.req.query('eventType') !== undefined && c.req.query('eventType') !== eventType) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the event type in the path and in the query differ', {
        details: { reason: 'query-parameter', parameter: 'eventType' },
      });
    }
    return query(c, { eventType });
  });

  return app;
}
