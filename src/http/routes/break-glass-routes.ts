import { Hono } from 'hono';
import { CareLedgerError } from '../../errors/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { Authenticate } from '../authenticate-request.js';
import { readJsonBody } from '../read-json-body.js';

/**
 * Break-glass oversight: the privacy officer lists sessions (`?unreviewed=true`: windows that ended
 * with no review yet) and completes the review each one needs; a patient lists their own.
 */
export function createBreakGlassRoutes(deps: {
  repository: FhirRepository;
  authenticate: Authenticate;
}): Hono {
  const app = new Hono();

  app.get('/', async (c) => {
    const context = await deps.authenticate(c);
    const unreviewed = c.req.query('unreviewed') === 'true';
    return c.json({ sessions: await deps.repository.listBreakGlass(context, { unreviewed }) });
  });

  app.post('/:id/review', async (c) => {
    const context = await deps.authenticate(c);
    const body = (await readJsonBody(c)) as { outcome?: unknown; note?: unknown };
    if (body.outcome !== 'justified' && body.outcome !== 'not-justified') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'outcome must be "justified" or "not-justified"');
    }
    if (typeof body.note !== 'string') throw new CareLedgerError('ERR_INVALID_INPUT', 'a note is required');
    const session = await deps.repository.reviewBreakGlass(
      c.req.param('id'),
      { outcome: body.outcome, note: body.note },
      context,
    );
    return c.json({ session });
  });

  return app;
}
