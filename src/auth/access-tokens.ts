import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { verifyClientStanding } from '../smart/client-standing.js';
import { parseScopes, verifyJwt } from '../smart/index.js';
import type { AccessClaims, AuthServerDeps } from './authorization-server-options.js';
import { sha256 } from './authorization-server-options.js';

/** Verifies an access token: signature, issuer, audience, expiry, not revoked, user still active. */
export async function verifyAccessToken(
  deps: Pick<AuthServerDeps, 'options' | 'seconds' | 'verifiedTokens'>,
  token: string,
): Promise<AccessClaims> {
  let payload: Record<string, unknown>;
  try {
    payload = (
      await deps.verifiedTokens.verify(token, {
        keys: [deps.options.signingKey.publicJwk],
        algorithms: ['ES256'],
        now: deps.seconds(),
        issuer: deps.options.issuer,
        audience: deps.options.fhirBaseUrl,
        clockToleranceSeconds: 0,
        requireClaims: ['exp', 'jti', 'sub', 'scope'],
      })
    ).payload as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof CareLedgerError ? String(error.details.reason ?? 'invalid') : 'invalid';
    throw new CareLedgerError('ERR_UNAUTHENTICATED', `the access token is not valid (${reason})`, {
      details: { oauth: 'invalid_token', reason },
    });
  }
  const claims = payload as unknown as AccessClaims;
  // Revocation and the user's standing are asked every time, in one statement (decision 0017).
  const signedIn = claims.fhirUser !== undefined && !claims.amr?.includes('patient-key');
  const status = await deps.options.store.tokenStatus(
    claims.jti,
    typeof claims.fam === 'string' ? claims.fam : undefined,
    signedIn ? claims.sub : undefined,
    claims.client_id.startsWith('patient:') ? undefined : claims.client_id,
  );
  if (status.revoked) {
    throw new CareLedgerError('ERR_UNAUTHENTICATED', 'the access token was revoked', {
      details: { oauth: 'invalid_token', reason: 'revoked' },
    });
  }
  if (signedIn) {
    const user = status.user;
    if (user === undefined || user.disabled) {
      throw new CareLedgerError('ERR_UNAUTHENTICATED', 'the user is no longer active', {
        details: { oauth: 'invalid_token', reason: 'user-disabled' },
      });
    }
  }
  // Issue 14: a removed (or no longer approved) client's tokens end at the next request.
  await verifyClientStanding(claims, async () => status.client);
  return claims;
}

/** The AccessContext of a verified token: who, their roles, the token's scopes and patient context. */
export function accessContext(
  claims: AccessClaims,
  purpose: string | undefined,
  organization: string,
): AccessContext {
  const who =
    claims.fhirUser ??
    (claims.member === undefined ? `Device/${claims.sub}` : `Organization/${claims.member}`);
  const defaultPurpose = who.startsWith('Patient/') ? 'PATRQT' : 'TREAT';
  return {
    who,
    organization,
    // A token limited to a purpose keeps it: the request cannot pick another one.
    purpose: claims.purpose ?? purpose ?? defaultPurpose,
    ...(claims.act === undefined ? {} : { onBehalfOf: claims.act.sub }),
    scopes: parseScopes(claims.scope),
    ...(claims.roles === undefined ? {} : { roles: claims.roles }),
    ...(claims.member === undefined ? {} : { member: claims.member }),
    ...(claims.patient === undefined ? {} : { launchPatient: claims.patient }),
    clientId: claims.client_id,
  };
}

/** RFC 7009: revokes a refresh token (and its grant) or an access token; unknown tokens are fine. */
export async function revoke(
  deps: Pick<AuthServerDeps, 'options' | 'seconds'>,
  form: URLSearchParams,
): Promise<void> {
  const token = form.get('token') ?? '';
  const now = deps.seconds();
  const refresh = await deps.options.store.refreshToken(sha256(token));
  if (refresh !== undefined) {
    await deps.options.store.revokeFamily(refresh.family, now);
    return;
  }
  let claims: AccessClaims;
  try {
    claims = (
      await verifyJwt(token, {
        keys: [deps.options.signingKey.publicJwk],
        algorithms: ['ES256'],
        now,
        issuer: deps.options.issuer,
        audience: deps.options.fhirBaseUrl,
      })
    ).payload as unknown as AccessClaims;
  } catch {
    return; // RFC 7009 §2.2: an invalid token needs no revocation.
  }
  await deps.options.store.revokeAccessToken(claims.jti, claims.exp);
}
