/**
 * SMART App Launch from the browser: authorization code with PKCE S256 against this node's own
 * /oauth/authorize (its sign-in page asks username, password and a TOTP code), then /oauth/token.
 * The token set lives in sessionStorage (this tab only, gone when it closes), never localStorage;
 * sign-out revokes the refresh and access tokens (RFC 7009).
 */
export const PORTAL_CLIENT_ID = 'careledger-portal';
/** Patients get their own compartment (the server sets the patient context); staff get user scopes. */
export const PORTAL_SCOPES = 'openid fhirUser patient/*.cruds user/*.cruds offline_access';
const SESSION_KEY = 'careledger.portal.session';
const PKCE_KEY = 'careledger.portal.pkce';

export interface Session {
  readonly accessToken: string;
  readonly refreshToken?: string;
  readonly expiresAt: number;
  readonly scope: string;
  /** `Patient/<id>` or `Practitioner/<id>`. */
  readonly fhirUser: string;
  readonly roles: readonly string[];
  readonly patient?: string;
}

let current: Session | undefined;

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(size: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

function decodeJwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  const padded = part.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(padded + '='.repeat((4 - (padded.length % 4)) % 4))) as Record<string, unknown>;
}

export function redirectUri(): string {
  return `${location.origin}/portal/`;
}

export function session(): Session | undefined {
  if (current === undefined) {
    const stored = sessionStorage.getItem(SESSION_KEY);
    if (stored !== null) current = JSON.parse(stored) as Session;
  }
  return current;
}

function save(next: Session | undefined): void {
  current = next;
  if (next === undefined) sessionStorage.removeItem(SESSION_KEY);
  else sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
}

/** Sends the browser to the node's sign-in page. */
export async function startSignIn(fhirBaseUrl: string): Promise<void> {
  const verifier = random(32);
  const state = random(16);
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: PORTAL_CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: PORTAL_SCOPES,
    state,
    aud: fhirBaseUrl,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  location.assign(`/oauth/authorize?${params.toString()}`);
}

function fromTokenResponse(body: Record<string, unknown>): Session {
  const accessToken = String(body.access_token);
  const claims = decodeJwtPayload(accessToken);
  return {
    accessToken,
    ...(typeof body.refresh_token === 'string' ? { refreshToken: body.refresh_token } : {}),
    expiresAt: Date.now() + Number(body.expires_in ?? 3600) * 1000,
    scope: String(body.scope ?? ''),
    fhirUser: String(claims.fhirUser ?? ''),
    roles: Array.isArray(claims.roles) ? claims.roles.map(String) : [],
    ...(typeof body.patient === 'string' ? { patient: body.patient } : {}),
  };
}

async function tokenRequest(form: Record<string, string>): Promise<Record<string, unknown>> {
  const response = await fetch('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok)
    throw new Error(String(body.error_description ?? body.error ?? `HTTP ${response.status}`));
  return body;
}

/**
 * Finishes a sign-in when the page is the redirect target (`?code=…&state=…`, or `?error=…`).
 * Returns an error message to show, or undefined. The code leaves the address bar at once.
 */
export async function completeSignIn(): Promise<string | undefined> {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return undefined;
  history.replaceState(null, '', `${location.pathname}${location.hash}`);
  const pending = sessionStorage.getItem(PKCE_KEY);
  sessionStorage.removeItem(PKCE_KEY);
  if (params.has('error'))
    return `Sign-in refused: ${params.get('error_description') ?? params.get('error')}`;
  if (pending === null) return 'Sign-in could not be completed in this tab; please sign in again.';
  const { verifier, state } = JSON.parse(pending) as { verifier: string; state: string };
  if (params.get('state') !== state)
    return 'Sign-in could not be completed (state mismatch); please sign in again.';
  try {
    const body = await tokenRequest({
      grant_type: 'authorization_code',
      code: params.get('code') ?? '',
      redirect_uri: redirectUri(),
      client_id: PORTAL_CLIENT_ID,
      code_verifier: verifier,
    });
    save(fromTokenResponse(body));
    return undefined;
  } catch (error) {
    return `Sign-in failed: ${(error as Error).message}`;
  }
}

/** Rotates the refresh token (RFC 6749 §6); false when there is none or it was refused. */
export async function refreshSession(): Promise<boolean> {
  const s = session();
  if (s?.refreshToken === undefined) return false;
  try {
    save(
      fromTokenResponse(
        await tokenRequest({
          grant_type: 'refresh_token',
          refresh_token: s.refreshToken,
          client_id: PORTAL_CLIENT_ID,
        }),
      ),
    );
    return true;
  } catch {
    save(undefined);
    return false;
  }
}

/** Forgets the session in this tab without calling the server (its tokens are no longer accepted). */
export function endSession(): void {
  save(undefined);
}

export async function signOut(): Promise<void> {
  const s = session();
  save(undefined);
  if (s === undefined) return;
  for (const token of [s.refreshToken, s.accessToken]) {
    if (token === undefined) continue;
    await fetch('/oauth/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: PORTAL_CLIENT_ID }).toString(),
    }).catch(() => undefined);
  }
}

export function isPatient(s: Session | undefined): boolean {
  return s?.fhirUser.startsWith('Patient/') === true;
}

export function patientId(s: Session | undefined): string {
  return s?.patient ?? s?.fhirUser.replace(/^Patient\//, '') ?? '';
}
