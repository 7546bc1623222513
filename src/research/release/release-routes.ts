import { type Context, Hono } from 'hono';
import type { Hex } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import { createOperationOutcome } from '../../fhir/operation-outcome.js';
import type { ReleaseService } from './release-service.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const NDJSON = 'application/fhir+ndjson';
const STUDY_ID = /^0x[0-9a-fA-F]{64}$/;
const JOB_ID = /^[A-Za-z0-9-]{1,64}$/;
const FILE_NAME = /^[A-Za-z]{1,64}(-[0-9]{1,6})?\.ndjson$/;
const HASH = /^0x[0-9a-f]{64}$/;

export interface ReleaseRoutesDeps {
  readonly releases: ReleaseService;
  readonly authenticate: (c: Context) => Promise<AccessContext>;
  /** The node's public base URL (no trailing slash). */
  readonly baseUrl: string;
  /** Seconds a client is told to wait between status requests (default 2). */
  readonly retryAfterSeconds?: number;
}

function studyIdOf(c: Context): Hex {
  const id = c.req.param('id') ?? '';
  if (!STUDY_ID.test(id)) throw new CareLedgerError('ERR_NOT_FOUND', 'no such study');
  return id.toLowerCase() as Hex;
}

function jobIdOf(c: Context): string {
  const id = c.req.param('job') ?? '';
  if (!JOB_ID.test(id)) throw new CareLedgerError('ERR_NOT_FOUND', 'no such export job');
  return id;
}

/**
 * A study release as FHIR Bulk Data v2 (https://hl7.org/fhir/uv/bulkdata/STU2/export.html), mounted
 * under /research: `POST /studies/{id}/$export` (202 with Content-Location), `GET
 * /studies/{id}/$export-status/{job}` (202 with X-Progress and Retry-After while running, 200 with the
 * release manifest once it is sealed and anchored), `GET /studies/{id}/$export-file/{job}/{file}` for
 * the requester only, and `GET /studies/{id}/releases/{manifestHash}`, the anchor as the chain holds it.
 */
export function createReleaseRoutes(deps: ReleaseRoutesDeps): Hono {
  const app = new Hono();
  const retryAfter = String(deps.retryAfterSeconds ?? 2);

  app.post('/studies/:id/$export', async (c) => {
    const context = await deps.authenticate(c);
    const studyId = studyIdOf(c);
    // export.html#headers: Prefer: respond-async is required.
    if (!/\brespond-async\b/.test(c.req.header('prefer') ?? '')) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'a study release needs the header Prefer: respond-async',
        {
          details: { parameter: 'Prefer' },
        },
      );
    }
    // The k round across members (decision 0041), named by the research member that started it.
    const round = c.req.query('round');
    const requestUrl = `${deps.baseUrl}/research/studies/${studyId}/$export${round === undefined ? '' : `?round=${encodeURIComponent(round)}`}`;
    const job = await deps.releases.kickOff(studyId, context, requestUrl, round);
    const body = createOperationOutcome([
      {
        severity: 'information',
        code: 'informational',
        diagnostics: 'the release was accepted; poll the Content-Location for its status',
        expression: [],
      },
    ]);
    return c.body(JSON.stringify(body), 202, {
      'Content-Type': FHIR_JSON,
      'Content-Location': `${deps.baseUrl}/research/studies/${studyId}/$export-status/${job.id}`,
    });
  });

  app.get('/studies/:id/$export-status/:job', async (c) => {
    const context = await deps.authenticate(c);
    const status = await deps.releases.status(studyIdOf(c), jobIdOf(c), context);
    switch (status.kind) {
      case 'running':
        return c.body(null, 202, { 'X-Progress': status.progress, 'Retry-After': retryAfter });
      case 'failed':
        return c.body(JSON.stringify(status.outcome), 500, { 'Content-Type': FHIR_JSON });
      case 'expired':
        throw new CareLedgerError('ERR_GONE', 'the release files have expired');
      case 'done':
        return c.json(status.manifest, 200, {
          ...(status.expiresAt === undefined ? {} : { Expires: new Date(status.expiresAt).toUTCString() }),
        });
    }
  });

  app.get('/studies/:id/$export-file/:job/:file', async (c) => {
    const context = await deps.authenticate(c);
    const fileName = c.req.param('file');
    if (!FILE_NAME.test(fileName)) throw new CareLedgerError('ERR_NOT_FOUND', 'no such export file');
    const frames = await deps.releases.openFile(studyIdOf(c), jobIdOf(c), fileName, context);
    // The first frame is opened before answering, so a file that fails to open is an error status.
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

  app.get('/studies/:id/releases/:hash', async (c) => {
    await deps.authenticate(c);
    const hash = (c.req.param('hash') ?? '').toLowerCase();
    if (!HASH.test(hash)) throw new CareLedgerError('ERR_NOT_FOUND', 'no release with this manifest hash');
    const release = await deps.releases.release(studyIdOf(c), hash as Hex);
    if (release === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'no release with this manifest hash on chain');
    return c.json({
      studyId: release.studyId,
      manifestHash: release.manifestHash,
      profileHash: release.profileHash,
      consentBlock: release.consentBlock.toString(),
      records: release.records,
      suppressed: release.suppressed,
      ...(release.member === undefined ? {} : { member: release.member }),
      ...(release.block === undefined ? {} : { block: release.block.toString() }),
    });
  });

  return app;
}
