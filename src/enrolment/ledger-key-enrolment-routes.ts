import { Hono } from 'hono';
import type { Authenticate } from '../http/authenticate-request.js';
import { readJsonBody } from '../http/read-json-body.js';
import type { LedgerKeyLinkResult } from '../vault/operations/link-ledger-address.js';
import type { LedgerKeyEnrolment } from './ledger-key-enrolment.js';

function linkAnswer(patientId: string, result: LedgerKeyLinkResult) {
  return {
    patient: `Patient/${patientId}`,
    address: result.address ?? null,
    previous: result.previous ?? null,
    changed: result.changed,
    versionId: result.patient.meta?.versionId ?? null,
  };
}

/**
 * Key enrolment under the FHIR base, mounted before the generic FHIR routes:
 * `POST Patient/{id}/$ledger-key-challenge` `{ key }` issues a challenge (201);
 * `POST Patient/{id}/$enrol-ledger-key` `{ nonce, signature }` links the key it names;
 * `POST Patient/{id}/$unlink-ledger-key` removes the link (privacy officer).
 */
export function createLedgerKeyEnrolmentRoutes(deps: {
  enrolment: LedgerKeyEnrolment;
  authenticate: Authenticate;
}): Hono {
  const app = new Hono();

  app.post('/Patient/:id/$ledger-key-challenge', async (c) => {
    const context = await deps.authenticate(c);
    const body = await readJsonBody(c);
    return c.json(await deps.enrolment.issueChallenge(c.req.param('id'), body.key, context), 201);
  });

  app.post('/Patient/:id/$enrol-ledger-key', async (c) => {
    const context = await deps.authenticate(c);
    const body = await readJsonBody(c);
    const id = c.req.param('id');
    return c.json(linkAnswer(id, await deps.enrolment.enrol(id, body, context)));
  });

  app.post('/Patient/:id/$unlink-ledger-key', async (c) => {
    const context = await deps.authenticate(c);
    const id = c.req.param('id');
    return c.json(linkAnswer(id, await deps.enrolment.unlink(id, context)));
  });

  return app;
}
