import { randomUUID } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { BreakGlassSession } from '../../access/index.js';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import { remoteAddress } from '../../http/remote-address.js';
import { createBreakGlassRoutes } from '../../http/routes/break-glass-routes.js';
import {
  breakGlassSentenceForPatient,
  breakGlassSentenceForReviewer,
} from '../../patient-rights/notification-sentences.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { NodeAuth } from './auth.js';
import type { NodeBase } from './node-base.js';

/**
 * Break-glass: the clinician's second factor, and who is told when it is opened. `practitionerName`
 * names the clinician in the notifications ("Dr Meredith Grey"), without it they say "a clinician".
 */
export function createBreakGlassHooks(
  base: NodeBase,
  auth: NodeAuth,
  practitionerName?: (reference: string) => Promise<string | undefined>,
) {
  const { config, stores, say } = base;
  const authStore = stores.auth;
  const { authServer } = auth;
  /** Break-glass needs a signed-in clinician's second factor: a fresh TOTP code in X-CareLedger-TOTP. */
  const verifySecondFactor = async (c: Context, context: AccessContext) => {
    const user = await authStore.userByFhirUser(context.who);
    if (user === undefined) {
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'break-glass needs a signed-in clinician with a second factor',
      );
    }
    try {
      const address = remoteAddress(c);
      await authServer.checkSecondFactor(
        user,
        c.req.header('x-careledger-totp') ?? '',
        address === undefined ? {} : { address },
      );
    } catch (error) {
      if (error instanceof CareLedgerError && error.code === 'ERR_RATE_LIMITED') throw error;
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'break-glass needs a valid one-time code (X-CareLedger-TOTP)',
        {
          details: { reason: 'second-factor' },
        },
      );
    }
  };
  const onBreakGlass = async (session: BreakGlassSession) => {
    const words = {
      clinician: await practitionerName?.(session.who),
      organization: config.organization,
      until: session.expiresAt,
    };
    const createdAt = new Date().toISOString();
    const told = [
      { recipient: `Patient/${session.patientId}`, message: breakGlassSentenceForPatient(words) },
      { recipient: 'role:privacy-officer', message: breakGlassSentenceForReviewer(words) },
    ];
    for (const { recipient, message } of told) {
      await authStore.insertNotification({
        id: randomUUID(),
        recipient,
        kind: 'break-glass',
        message,
        subject: `break-glass/${session.id}`,
        createdAt,
      });
    }
    const webhook = config.notifications?.webhookUrl;
    if (webhook !== undefined) {
      // Best effort and bounded: the notification is stored either way. The payload is the operator's
      // alert: the reviewer's sentence (no patient named) and the session's ids and times, listed one by
      // one so a field added to the session later (a reason, a name) never rides along.
      const payload = {
        type: 'break-glass',
        node: config.name,
        text: breakGlassSentenceForReviewer(words),
        id: session.id,
        who: session.who,
        patientId: session.patientId,
        startedAt: session.startedAt,
        expiresAt: session.expiresAt,
        auditEventId: session.auditEventId,
      };
      await fetch(webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(2000),
      }).catch((error: unknown) => say(`break-glass webhook failed: ${(error as Error).message}`));
    }
  };
  return { verifySecondFactor, onBreakGlass };
}

/** /break-glass: the sessions a clinician opened, and their review. */
export function mountBreakGlassRoutes(app: Hono, repository: FhirRepository, auth: NodeAuth) {
  app.route('/break-glass', createBreakGlassRoutes({ repository, authenticate: auth.authenticate }));
}
