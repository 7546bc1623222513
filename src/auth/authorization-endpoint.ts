import { formatScopes, narrowScopes, parsePkceChallenge, parseScopes, type Scope } from '../smart/index.js';
import type { OAuthClient, UserAccount } from './auth-store.js';
import {
  type AuthorizeRequest,
  type AuthServerDeps,
  opaque,
  sha256,
} from './authorization-server-options.js';
import { oauthError } from './oauth-error.js';

type Deps = Pick<AuthServerDeps, 'options' | 'seconds'>;

/** What any user may be granted; the access policy decides what each request may actually do. */
const USER_SCOPES = parseScopes(
  'openid fhirUser profile launch/patient offline_access online_access patient/*.cruds user/*.cruds',
);
const CODE_SECONDS = 60;

/**
 * Simple string comparison (RFC 6749 §3.1.2.2, RFC 9700 §4.1.3), with one exception: a loopback
 * redirect URI matches whatever port the native app picked (RFC 8252 §7.3). Only the port may
 * differ: the rest of the URI the client sent must be the registered one character for character,
 * so no added query, fragment or user info, and no path that merely normalizes to the registered one.
 */
function isRegisteredRedirect(client: OAuthClient, uri: string): boolean {
  if (client.redirectUris.includes(uri)) return true;
  let given: URL;
  try {
    given = new URL(uri);
  } catch {
    return false;
  }
  if (given.hostname !== '127.0.0.1' && given.hostname !== '[::1]') return false;
  return client.redirectUris.some((registered) => {
    const candidate = new URL(registered);
    if (candidate.hostname !== given.hostname) return false;
    candidate.port = given.port;
    return candidate.href === uri;
  });
}

/**
 * Validates an authorization request. Errors about the client or redirect URI are shown to the user
 * (never redirected to an unverified URI, RFC 6749 §4.1.2.1); the rest go back to the client.
 */
export async function parseAuthorizeRequest(deps: Deps, params: URLSearchParams): Promise<AuthorizeRequest> {
  const clientId = params.get('client_id') ?? '';
  const client = await deps.options.store.client(clientId);
  if (client === undefined) throw oauthError('invalid_client', 'unknown client_id');
  if (client.status === 'pending') {
    throw oauthError('invalid_client', "this app is waiting for the node operator's approval");
  }
  const redirectUri = params.get('redirect_uri') ?? '';
  if (!isRegisteredRedirect(client, redirectUri)) {
    throw oauthError('invalid_request', 'redirect_uri is not registered for this client');
  }
  if (params.get('response_type') !== 'code') {
    throw oauthError('unsupported_response_type', 'response_type must be code');
  }
  const state = params.get('state') ?? '';
  if (state === '') throw oauthError('invalid_request', 'state is required (SMART App Launch)');
  // SMART: aud names the FHIR server the app wants a token for; a token for another server is refused.
  const aud = (params.get('aud') ?? '').replace(/\/$/, '');
  if (aud !== deps.options.fhirBaseUrl) {
    throw oauthError('invalid_request', `aud must be this FHIR server, ${deps.options.fhirBaseUrl}`);
  }
  const { challenge } = parsePkceChallenge(params.get('code_challenge'), params.get('code_challenge_method'));
  const requested = parseScopes(params.get('scope') ?? '');
  const scope = narrowScopes(requested, allowedFor(client));
  const nonce = params.get('nonce');
  return {
    client,
    redirectUri,
    state,
    scope,
    codeChallenge: challenge,
    aud,
    ...(nonce === null ? {} : { nonce }),
  };
}

function allowedFor(client: OAuthClient): Scope[] {
  return narrowScopes(USER_SCOPES, parseScopes(client.allowedScopes));
}

/** Issues an authorization code for a signed-in user; returns the redirect URL (RFC 6749 §4.1.2). */
export async function issueCode(
  deps: Deps,
  request: AuthorizeRequest,
  user: UserAccount,
  launchPatient?: string,
): Promise<string> {
  const wantsPatient = request.scope.some((s) => s.kind === 'named' && s.name === 'launch/patient');
  let patient: string | undefined;
  if (user.fhirUser.startsWith('Patient/')) patient = user.fhirUser.slice('Patient/'.length);
  else if (wantsPatient) {
    if (launchPatient === undefined || !/^[A-Za-z0-9\-.]{1,64}$/.test(launchPatient)) {
      throw oauthError('invalid_request', 'choose the patient for this app (launch/patient)');
    }
    patient = launchPatient;
  }
  const code = opaque();
  await deps.options.store.insertCode({
    codeHash: sha256(code),
    clientId: request.client.clientId,
    userId: user.id,
    redirectUri: request.redirectUri,
    codeChallenge: request.codeChallenge,
    scope: formatScopes(request.scope),
    expiresAt: deps.seconds() + CODE_SECONDS,
    ...(patient === undefined ? {} : { patient }),
    ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
  });
  const url = new URL(request.redirectUri);
  url.searchParams.set('code', code);
  url.searchParams.set('state', request.state);
  return url.toString();
}
