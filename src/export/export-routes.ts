import type { Context } from 'hono';
import { Hono } from 'hono';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { createOperationOutcome } from '../fhir/operation-outcome.js';
import type { BulkExportService } from './bulk-export-service.js';
import type { ExportJob, ExportLevel } from './export-job.js';
import { type ParseExportOptions, parametersToPairs, parseExportRequest } from './parse-export-request.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const NDJSON = 'application/fhir+ndjson';
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const JOB_ID = /^[A-Za-z0-9-]{1,64}$/;
const FILE_NAME = /^[A-Za-z]{1,64}(-[0-9]{1,6})?\.ndjson$/;

export interface ExportRoutesDeps {
  readonly service: BulkExportService;
  readonly authenticate: (c: Context) => Promise<AccessContext>;
  /** The node's public base URL (no trailing slash): status and file URLs are absolute. */
  readonly baseUrl: string;
  readonly isServedType: ParseExportOptions['isServedType'];
  readonly checkQuery: ParseExportOptions['checkQuery'];
  /** Seconds a client is told to wait between status requests (default 2). */
  readonly retryAfterSeconds?: number;
}

function outcome(c: Context, status: 202 | 200, diagnostics: string, headers: Record<string, string> = {}) {
  return c.body(
    JSON.stringify(
      createOperationOutcome([
        { severity: 'information', code: 'informational', diagnostics, expression: [] },
      ]),
    ),
    status,
    { 'Content-Type': FHIR_JSON, ...headers },
  );
}

/**
 * FHIR Bulk Data Access v2 (https://hl7.org/fhir/uv/bulkdata/STU2/export.html), mounted under /fhir:
 * kick-off at system, Patient and Group level; status (`$export-status/{job}`: 202 with X-Progress
 * while running, 200 with the manifest when done, 500 with an OperationOutcome if it failed); DELETE
 * of a job; files (`$export-file/{job}/{file}`), decrypted while streamed, for the job's requester only.
 */
export function createExportRoutes(deps: ExportRoutesDeps): Hono {
  const app = new Hono();
  const retryAfter = String(deps.retryAfterSeconds ?? 2);

  const kickOff = async (c: Context, level: ExportLevel) => {
    const context = await deps.authenticate(c);
    // export.html#headers: Prefer: respond-async is required; Accept, if given, must allow FHIR JSON.
    const prefer = c.req.header('prefer') ?? '';
    if (!/\brespond-async\b/.test(prefer))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a bulk export needs the header Prefer: respond-async', {
        details: { parameter: 'Prefer' },
      });
    const accept = c.req.header('accept');
    if (accept !== undefined && !/application\/(fhir\+)?json|\*\/\*/.test(accept))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'Accept must be application/fhir+json', {
        details: { parameter: 'Accept' },
      });
    const url = new URL(c.req.url);
    const pairs: [string, string][] =
      c.req.method === 'POST'
        ? parametersToPairs(await c.req.json().catch(() => undefined))
        : [...url.searchParams];
    const request = parseExportRequest(level, pairs, {
      isServedType: deps.isServedType,
      checkQuery: deps.checkQuery,
      lenient: /\bhandling=lenient\b/.test(prefer),
    });
    const job = await deps.service.kickOff(request, `${deps.baseUrl}${url.pathname}${url.search}`, context);
    return outcome(c, 202, 'the export was accepted; poll the Content-Location for its status', {
      'Content-Location': `${deps.baseUrl}/fhir/$export-status/${job.id}`,
    });
  };

  for (const method of ['get', 'post'] as const) {
    app[method]('/$export', (c) => kickOff(c, { kind: 'system' }));
    app[method]('/Patient/$export', (c) => kickOff(c, { kind: 'patient' }));
    app[method]('/Group/:id/$export', (c) => {
      const groupId = c.req.param('id');
      if (!FHIR_ID.test(groupId)) throw new CareLedgerError('ERR_INVALID_INPUT', 'not a valid FHIR id');
      return kickOff(c, { kind: 'group', groupId });
    });
  }

  const jobOf = async (c: Context): Promise<{ job: ExportJob; context: AccessContext }> => {
    const context = await deps.authenticate(c);
    const id = c.req.param('job') ?? '';
    if (!JOB_ID.test(id)) throw new CareLedgerError('ERR_NOT_FOUND', 'no such export job');
    return { job: await deps.service.job(id, context), context };
  };

  app.get('/$export-status/:job', async (c) => {
    const { job } = await jobOf(c);
    switch (job.status) {
      case 'accepted':
      case 'in-progress':
        return c.body(null, 202, { 'X-Progress': job.progress, 'Retry-After': retryAfter });
      case 'failed':
        // export.html#response---error-status-1: the job's error as an OperationOutcome with a 5xx status.
        return c.body(JSON.stringify(job.failure), 500, { 'Content-Type': FHIR_JSON });
      case 'expired':
        throw new CareLedgerError('ERR_GONE', 'the export files have expired');
      case 'completed': {
        const fileUrl = (name: string) => `${deps.baseUrl}/fhir/$export-file/${job.id}/${name}`;
        const manifest = {
          transactionTime: job.transactionTime,
          request: job.requestUrl,
          requiresAccessToken: true,
          output: (await deps.service.disclosedOutput(job)).map((f) => ({
            type: f.type,
            url: fileUrl(f.fileName),
            count: f.count,
          })),
          error: job.errors.map((f) => ({ type: f.type, url: fileUrl(f.fileName), count: f.count })),
        };
        return c.json(manifest, 200, {
          ...(job.expiresAt === undefined ? {} : { Expires: new Date(job.expiresAt).toUTCString() }),
        });
      }
    }
  });

  app.delete('/$export-status/:job', async (c) => {
    const { job, context } = await jobOf(c);
    await deps.service.cancel(job.id, context);
    return outcome(c, 202, 'the export job and its files were deleted');
  });

  app.get('/$export-file/:job/:file', async (c) => {
    const { job, context } = await jobOf(c);
    const fileName = c.req.param('file');
    if (!FILE_NAME.test(fileName)) throw new CareLedgerError('ERR_NOT_FOUND', 'no such export file');
    const frames = await deps.service.openFile(job.id, fileName, context);
    // The first frame is opened before answering, so a file that fails to open is an error status,
    // not a 200 cut short; later failures end the stream with an error.
    const first = await frames.next();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        if (first.done !== true) controller.enqueue(first.value);
        else controller.close();
      },
      async pull(controller) {
        if (first.done === true) return;
        try {
          const { value, done } = await frames.next();
          if (done === true) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        await frames.return(undefined);
      },
    });
    return c.body(stream, 200, { 'Content-Type': NDJSON, 'Cache-Control': 'no-store' });
  });

  return app;
}
