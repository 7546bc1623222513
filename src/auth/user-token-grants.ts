import { randomUUID } from 'node:crypto';
import {
  formatScopes,
  isScopeSubset,
  narrowScopes,
  parseScopes,
  signJwt,
  verifyPkce,
} from '../smart/index.js';
import type { OAuthClient, UserAccount } from './auth-store.js';
import {
  type AccessClaims,
  type AuthServerDeps,
  opaque,
  sha256,
  type TokenResponse,
} from './authorization-server-options.js';
import { oauthError } from './oauth-error.js';

type Deps = Pick<AuthServerDeps, 'options' | 'seconds' | 'authenticateClient'>;

/** RFC 6749 §4.1.3: an authorization code (with its PKCE verifier) for the user's tokens. */
export async function redeemCode(deps: Deps, form: URLSearchParams): Promise<TokenResponse> {
  const client = await deps.authenticateClient(form);
  const codeHash = sha256(form.get('code') ?? '');
  const code = await deps.options.store.code(codeHash);
  if (code === undefined || code.clientId !== client.clientId) {
    throw oauthError('invalid_grant', 'unknown authorization code');
  }
  if (code.usedAt !== undefined) {
    // RFC 6749 §4.1.2: a code used twice is an attack; revoke what it issued.
    if (code.family !== undefined) await deps.options.store.revokeFamily(code.family, deps.seconds());
    throw oauthError('invalid_grant', 'the authorization code was already used');
  }
  if (code.expiresAt < deps.seconds()) throw oauthError('invalid_grant', 'the authorization code expired');
  if ((form.get('redirect_uri') ?? '') !== code.redirectUri) {
    throw oauthError('invalid_grant', 'redirect_uri differs from the authorization request');
  }
  try {
    verifyPkce(form.get('code_verifier'), code.codeChallenge, 'S256');
  } catch {
    throw oauthError('invalid_grant', 'the PKCE code_verifier does not match the code_challenge');
  }
  const user = await deps.options.store.userById(code.userId);
  if (user === undefined || user.disabled) throw oauthError('invalid_grant', 'the user is no longer active');
  const family = randomUUID();
  if (!(await deps.options.store.redeemCode(codeHash, deps.seconds(), family))) {
    throw oauthError('invalid_grant', 'the authorization code was already used');
  }
  return await issueTokens(deps, client, user, code.scope, code.patient, family, code.nonce);
}

/** RFC 6749 §6: a refresh token, rotated on every use, for new tokens of the same grant. */
export async function refresh(deps: Deps, form: URLSearchParams): Promise<TokenResponse> {
  const tokenHash = sha256(form.get('refresh_token') ?? '');
  const token = await deps.options.store.refreshToken(tokenHash);
  // RFC 6749 §6: a public client may refresh without client_id (fhirclient does); the token names it.
  if (form.get('client_id') === null && form.get('client_assertion') === null && token !== undefined) {
    form.set('client_id', token.clientId);
  }
  const client = await deps.authenticateClient(form);
  const now = deps.seconds();
  if (token === undefined || token.clientId !== client.clientId)
    throw oauthError('invalid_grant', 'unknown refresh token');
  if (token.revokedAt !== undefined) throw oauthError('invalid_grant', 'the refresh token was revoked');
  if (token.expiresAt < now) throw oauthError('invalid_grant', 'the refresh token expired');
  if (token.rotatedAt !== undefined) {
    // OAuth 2.0 Security BCP §4.14.2: reuse of a rotated refresh token revokes the whole grant.
    await deps.options.store.revokeFamily(token.family, now);
    throw oauthError('invalid_grant', 'the refresh token was already used; the grant is revoked');
  }
  let scope = token.scope;
  const asked = form.get('scope');
  if (asked !== null) {
    const requested = parseScopes(asked);
    const granted = parseScopes(token.scope);
    // RFC 6749 §6: the scope asked on refresh must not include any scope not originally granted.
    if (!isScopeSubset(requested, granted)) {
      throw oauthError('invalid_scope', 'a refresh cannot widen the scope granted');
    }
    const narrowed = narrowScopes(requested, granted);
    scope = formatScopes(narrowed);
  }
  const user = await deps.options.store.userById(token.userId);
  if (user === undefined || user.disabled) throw oauthError('invalid_grant', 'the user is no longer active');
  // Rotation (OAuth 2.0 Security BCP §4.14.2): this token is spent; a concurrent second use loses.
  if (!(await deps.options.store.rotateRefreshToken(tokenHash, now))) {
    await deps.options.store.revokeFamily(token.family, now);
    throw oauthError('invalid_grant', 'the refresh token was already used; the grant is revoked');
  }
  return await issueTokens(deps, client, user, scope, token.patient, token.family);
}

async function issueTokens(
  deps: Pick<AuthServerDeps, 'options' | 'seconds'>,
  client: OAuthClient,
  user: UserAccount,
  scope: string,
  patient: string | undefined,
  family: string,
  nonce?: string,
): Promise<TokenResponse> {
  const now = deps.seconds();
  const expiresIn = deps.options.accessTokenSeconds ?? 3600;
  const scopes = parseScopes(scope);
  const named = new Set(scopes.filter((s) => s.kind === 'named').map((s) => (s as { name: string }).name));
  const claims: AccessClaims = {
    iss: deps.options.issuer,
    aud: deps.options.fhirBaseUrl,
    sub: user.id,
    client_id: client.clientId,
    scope,
    jti: randomUUID(),
    iat: now,
    exp: now + expiresIn,
    fhirUser: user.fhirUser,
    ...(patient === undefined ? {} : { patient }),
    ...(user.roles.length === 0 ? {} : { roles: user.roles }),
    fam: family,
  };
  let refresh: string | undefined;
  if (named.has('offline_access') || named.has('online_access')) {
    refresh = opaque();
    await deps.options.store.insertRefreshToken({
      tokenHash: sha256(refresh),
      family,
      clientId: client.clientId,
      userId: user.id,
      scope,
      expiresAt: now + (deps.options.refreshTokenSeconds ?? 30 * 24 * 3600),
      ...(patient === undefined ? {} : { patient }),
    });
  }
  const idToken = named.has('openid')
    ? await signJwt(
        {
          iss: deps.options.issuer,
          sub: user.id,
          aud: client.clientId,
          iat: now,
          exp: now + expiresIn,
          ...(named.has('fhirUser') ? { fhirUser: `${deps.options.fhirBaseUrl}/${user.fhirUser}` } : {}),
          ...(nonce === undefined ? {} : { nonce }),
        },
        deps.options.signingKey.privateJwk,
      )
    : undefined;
  return {
    access_token: await signJwt({ ...claims }, deps.options.signingKey.privateJwk),
    token_type: 'Bearer',
    expires_in: expiresIn,
    scope,
    ...(refresh === undefined ? {} : { refresh_token: refresh }),
    ...(idToken === undefined ? {} : { id_token: idToken }),
    ...(patient === undefined ? {} : { patient, need_patient_banner: !user.fhirUser.startsWith('Patient/') }),
  };
}
