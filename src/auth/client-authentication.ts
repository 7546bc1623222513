import { CareLedgerError } from '../errors/index.js';
import { verifyClientAssertion } from '../smart/index.js';
import type { AuthStore, OAuthClient } from './auth-store.js';
import { oauthError } from './oauth-error.js';
import type { TokenEndpointLimits } from './token-endpoint-limits.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientAuthenticationDeps {
  readonly store: Pick<AuthStore, 'client' | 'seenAssertion'>;
  readonly limits: TokenEndpointLimits;
  readonly tokenEndpoint: string;
  /** Seconds since the epoch. */
  readonly seconds: () => number;
}

/** The `iss` of an assertion, unverified: only to find the keys that will verify it. */
function claimedIssuer(assertion: string): string {
  try {
    const payload = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload?.iss === 'string' ? payload.iss : '';
  } catch {
    return '';
  }
}

/**
 * Client authentication at the token endpoint: private_key_jwt (RFC 7523 §2.2, SMART Backend
 * Services) when an assertion is sent, else a public client by its id. Every request naming a
 * registered client counts against its window; a private_key_jwt attempt is counted as a failure
 * before its signature is checked and taken back when it verifies.
 */
export async function authenticateClient(
  form: URLSearchParams,
  deps: ClientAuthenticationDeps,
): Promise<OAuthClient> {
  const assertion = form.get('client_assertion');
  if (assertion === null) {
    const client = await deps.store.client(form.get('client_id') ?? '');
    if (client === undefined || client.status === 'pending')
      throw oauthError('invalid_client', 'unknown client_id', 'ERR_UNAUTHENTICATED');
    await deps.limits.countRequest(client.clientId);
    if (client.jwks !== undefined) {
      throw oauthError(
        'invalid_client',
        'this client must authenticate with private_key_jwt',
        'ERR_UNAUTHENTICATED',
      );
    }
    return client;
  }
  if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
    throw oauthError('invalid_client', 'client_assertion_type must be jwt-bearer', 'ERR_UNAUTHENTICATED');
  }
  const claimed = claimedIssuer(assertion);
  const registered = claimed === '' ? undefined : await deps.store.client(claimed);
  // Only registered clients are counted: an unknown client_id has nothing to guess, and counting it
  // would let anyone fill the store with keys.
  if (registered !== undefined) await deps.limits.countRequest(registered.clientId);
  const attempt =
    registered?.jwks === undefined ? undefined : await deps.limits.beginAuthentication(registered.clientId);
  let used: { jti: string; exp: number } | undefined;
  let clientId: string;
  try {
    ({ clientId } = await verifyClientAssertion(assertion, {
      tokenEndpoint: deps.tokenEndpoint,
      now: deps.seconds(),
      clientJwks: (id) => (id === registered?.clientId ? registered.jwks : undefined),
      // Asked last, after the signature; the replay check itself is the store's, below.
      seenJti: (_id, jti, exp) => {
        used = { jti, exp };
        return false;
      },
    }));
    if (used === undefined || (await deps.store.seenAssertion(clientId, used.jti, used.exp))) {
      throw new CareLedgerError('ERR_UNAUTHENTICATED', 'the client assertion jti was already used', {
        details: { reason: 'replayed' },
      });
    }
  } catch (error) {
    // The database being away is a 503, not a wrong assertion: nothing is counted against the client.
    if (error instanceof CareLedgerError && error.code === 'ERR_STORAGE') throw error;
    await attempt?.failed();
    const reason = error instanceof CareLedgerError ? String(error.details.reason ?? '') : '';
    throw oauthError(
      'invalid_client',
      `client authentication failed (${reason || 'invalid assertion'})`,
      'ERR_UNAUTHENTICATED',
    );
  }
  await attempt?.succeeded();
  if (registered === undefined || registered.status === 'pending')
    throw oauthError('invalid_client', 'unknown client', 'ERR_UNAUTHENTICATED');
  return registered;
}
