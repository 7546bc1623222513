import { Hono } from 'hono';
import type { AuthStore } from '../../auth/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { parsePatientKeystore } from '../../identity/index.js';
import { verifyWholeRecordScope } from '../../smart/account-scopes.js';
import type { ScopePermission } from '../../smart/smart-scopes.js';
import type { Authenticate } from '../authenticate-request.js';
import { readJsonBody } from '../read-json-body.js';

/**
 * What a signed-in person sees about their own account: notifications (break-glass on their record, or
 * for a privacy officer, every break-glass to review) and, for a patient, their encrypted consent
 * keystore, which only they can open.
 */
export function createAccountRoutes(deps: { store: AuthStore; authenticate: Authenticate }): Hono {
  const app = new Hono();

  const recipients = (who: string, roles: readonly string[] = []) => [who, ...roles.map((r) => `role:${r}`)];

  app.get('/notifications', async (c) => {
    const context = await deps.authenticate(c);
    return c.json({
      notifications: await deps.store.notifications(recipients(context.who, context.roles)),
    });
  });

  app.post('/notifications/:id/read', async (c) => {
    const context = await deps.authenticate(c);
    if (
      !(await deps.store.markNotificationRead(
        c.req.param('id'),
        recipients(context.who, context.roles),
        new Date().toISOString(),
      ))
    ) {
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such notification for you');
    }
    return c.body(null, 204);
  });

  // The keystore opens the key that signs every grant: only a token over the whole record gets it, not
  // an app launched for some resource types (`patient/*.rs` to fetch it, `patient/*.cruds` to replace it).
  const patientAccount = async (c: Parameters<Authenticate>[0], permissions: readonly ScopePermission[]) => {
    const context = await deps.authenticate(c);
    verifyWholeRecordScope(context, permissions, 'the consent keystore');
    const user = context.who.startsWith('Patient/')
      ? await deps.store.userByFhirUser(context.who)
      : undefined;
    if (user === undefined)
      throw new CareLedgerError('ERR_FORBIDDEN', 'only a signed-in patient has a consent keystore');
    return user;
  };

  /** The patient's encrypted keystore: the node stores it but cannot open it (scrypt, the patient's passphrase). */
  app.get('/patient/keystore', async (c) => {
    const user = await patientAccount(c, ['r', 's']);
    if (user.keystore === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'no keystore is stored for you');
    return c.json(JSON.parse(user.keystore) as unknown);
  });

  /** Replaces the keystore (a new passphrase, or after recovery by guardians); the address must not change. */
  app.put('/patient/keystore', async (c) => {
    const user = await patientAccount(c, ['c', 'r', 'u', 'd', 's']);
    const keystore = parsePatientKeystore(await readJsonBody(c));
    if (user.ledgerAddress !== undefined && `0x${keystore.address}` !== user.ledgerAddress.toLowerCase()) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the keystore is for another ledger address');
    }
    await deps.store.updateUser(user.id, { keystore: JSON.stringify(keystore) });
    return c.body(null, 204);
  });

  return app;
}
