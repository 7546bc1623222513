import type { Hono } from 'hono';
import { AuthorizationServer, UserDirectory } from '../../auth/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { createAuthenticator } from '../../http/authenticate-request.js';
import { createAccountRoutes } from '../../http/routes/account-routes.js';
import { createOAuthRoutes } from '../../http/routes/oauth-routes.js';
import { isPurposeOfUse } from '../../ledger/index.js';
import { registerPortalClient } from '../../portal/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { VaultCrypto } from '../../vault/index.js';
import { loadOrCreateTokenSigningKey } from '../node-keys.js';
import type { NodeBase } from './node-base.js';
import type { StartNodeOptions } from './start-node-options.js';

/** Users' TOTP secrets are sealed under the node key, bound to the user id (AES-GCM associated data). */
function createSecretSealing(crypto: VaultCrypto) {
  const secretRef = (userId: string) => ({
    resourceType: 'UserSecret',
    id: userId,
    versionId: '1',
    patientId: '',
  });
  const seal = async (userId: string, secret: string) => {
    const sealed = await crypto.encrypt(secretRef(userId), new TextEncoder().encode(secret));
    return JSON.stringify({
      u: userId,
      k: sealed.keyVersion,
      f: sealed.format,
      n: Buffer.from(sealed.nonce).toString('base64'),
      c: Buffer.from(sealed.ciphertext).toString('base64'),
    });
  };
  const openSecret = async (text: string) => {
    const s = JSON.parse(text) as { u: string; k: number; f: 1; n: string; c: string };
    const plain = await crypto.decrypt(secretRef(s.u), {
      format: s.f,
      keyVersion: s.k,
      nonce: Buffer.from(s.n, 'base64'),
      ciphertext: Buffer.from(s.c, 'base64'),
    });
    return new TextDecoder().decode(plain);
  };
  return { seal, openSecret };
}

/**
 * The SMART authorization server, the user directory, the portal's OAuth client and the
 * authenticator every route uses.
 */
export async function createAuth(
  base: NodeBase,
  options: StartNodeOptions,
  deps: { readonly crypto: VaultCrypto; readonly repository: FhirRepository },
) {
  const { config, paths, stores, account, say } = base;
  const { repository } = deps;
  const index = stores.chainIndex;
  const { seal, openSecret } = createSecretSealing(deps.crypto);
  const authStore = stores.auth;
  const issuer = config.publicUrl.replace(/\/$/, '');
  const authServer = new AuthorizationServer({
    store: authStore,
    issuer,
    fhirBaseUrl: `${issuer}/fhir`,
    signingKey: loadOrCreateTokenSigningKey(paths.tokenSigningKey),
    openSecret,
    ...(options.authClock === undefined ? {} : { now: options.authClock }),
    // A lockout is audited like a refused access (a sealed AuditEvent, its salted hash in the log)
    // and logged for the operator; no one is notified (a notice would tell an attacker the account exists).
    onLockout: async (lockout) => {
      say(
        `security: sign-in ${lockout.scope} key ${lockout.keyHash.slice(0, 12)} locked ${lockout.until === undefined ? 'until the operator unlocks it' : `until ${lockout.until}`} after ${lockout.failures} failures`,
      );
      await repository
        .recordDenied(
          'operation',
          {
            who: lockout.fhirUser ?? 'Device/unknown-account',
            organization: config.organization,
            purpose: 'HOPERAT',
          },
          {
            entity: `Device/authorization-server/throttle/${lockout.scope}/${lockout.keyHash.slice(0, 16)}`,
            reason: `${lockout.scope} locked after ${lockout.failures} consecutive failures${lockout.until === undefined ? ' (operator unlock needed)' : ` until ${lockout.until}`}`,
          },
        )
        .catch((error: unknown) => say(`security: lockout audit failed: ${(error as Error).message}`));
    },
    isActiveMember: async (address) => (await index.member(address))?.status === 'active',
    practitionerAttestation: (address) => index.practitioner(address),
    patientByLedgerAddress: (address) => repository.patientIdByLedgerAddress(address),
    isPractitionerAttested: async (address) => {
      const practitioner = await index.practitioner(address);
      return (
        practitioner !== undefined &&
        practitioner.organization === account.address &&
        !practitioner.revoked &&
        practitioner.expiresAt > Math.floor(Date.now() / 1000)
      );
    },
  });
  const users = new UserDirectory({ store: authStore, seal, issuer });
  const portalClient = await registerPortalClient(users, authStore, issuer);
  if (!portalClient.registered) say(`portal sign-in unavailable: ${portalClient.reason}`);
  const authenticate = createAuthenticator({
    organization: config.organization,
    devIdentityHeader: config.devIdentityHeader === true,
    bearer: async (token, c) => {
      const purpose = c.req.header('x-careledger-purpose');
      if (purpose !== undefined && !isPurposeOfUse(purpose)) {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'unknown purpose of use');
      }
      // Issue 14: verifyAccessToken also ends a removed (or no longer approved) client's tokens.
      const claims = await authServer.verifyAccessToken(token);
      return authServer.accessContext(claims, purpose, config.organization);
    },
  });
  return { issuer, authServer, users, authenticate };
}

export type NodeAuth = Awaited<ReturnType<typeof createAuth>>;

/** OAuth 2 / SMART endpoints; before /fhir: SMART discovery lives at /fhir/.well-known/smart-configuration too. */
export function mountOAuthRoutes(app: Hono, base: NodeBase, auth: NodeAuth) {
  app.route(
    '/',
    createOAuthRoutes({
      server: auth.authServer,
      users: auth.users,
      organization: base.config.organization,
      authenticate: auth.authenticate,
      softwareStatementKeys: base.config.clientRegistration?.softwareStatementKeys ?? [],
    }),
  );
}

/** A signed-in user's own account: password, second factor, notifications. */
export function mountAccountRoutes(app: Hono, base: NodeBase, auth: NodeAuth) {
  app.route('/', createAccountRoutes({ store: base.stores.auth, authenticate: auth.authenticate }));
}
