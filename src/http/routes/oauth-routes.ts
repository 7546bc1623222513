import { type Context, Hono } from 'hono';
import type { JWK } from 'jose';
import {
  type AuthorizationServer,
  type AuthorizeRequest,
  renderLoginPage,
  type UserDirectory,
  verifySoftwareStatement,
} from '../../auth/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { formatScopes } from '../../smart/index.js';
import type { Authenticate } from '../authenticate-request.js';
import { remoteAddress } from '../remote-address.js';

export interface OAuthRouteDeps {
  readonly server: AuthorizationServer;
  readonly users: UserDirectory;
  readonly organization: string;
  readonly authenticate: Authenticate;
  /**
   * Public keys of the publishers whose RFC 7591 §2.3 software statements register an app at once;
   * any other self-registered app waits for the operator's approval.
   */
  readonly softwareStatementKeys?: readonly JWK[];
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/**
 * RFC 6749 §5.2: `{ error, error_description }`, 401 for client authentication, 429 with Retry-After
 * past a client's limit (RFC 6585 §4), else 400.
 */
function oauthErrorResponse(c: Context, error: unknown): Response {
  if (!(error instanceof CareLedgerError) || typeof error.details.oauth !== 'string') throw error;
  if (error.code === 'ERR_RATE_LIMITED') {
    const retryAfter = error.details.retryAfter;
    return c.json({ error: error.details.oauth, error_description: error.message }, 429, {
      ...NO_STORE,
      ...(typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {}),
    });
  }
  const status = error.details.oauth === 'invalid_client' ? 401 : 400;
  if (status === 401) c.header('WWW-Authenticate', 'Basic realm="careledger"');
  return c.json({ error: error.details.oauth, error_description: error.message }, status, NO_STORE);
}

async function readForm(c: Context): Promise<URLSearchParams> {
  const type = c.req.header('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the body must be application/x-www-form-urlencoded', {
      details: { oauth: 'invalid_request' },
    });
  }
  return new URLSearchParams(await c.req.text());
}

/**
 * OAuth 2.0 / OpenID Connect endpoints for SMART App Launch and SMART Backend Services, and the
 * discovery documents (under the node and under its FHIR base, where SMART clients look).
 */
export function createOAuthRoutes(deps: OAuthRouteDeps): Hono {
  const app = new Hono();
  const { server } = deps;

  const smart = (c: Context) => c.json(server.smartConfiguration(), 200, { 'cache-control': 'max-age=300' });
  app.get('/.well-known/smart-configuration', smart);
  app.get('/fhir/.well-known/smart-configuration', smart);
  app.get('/.well-known/openid-configuration', (c) => c.json(server.openIdConfiguration()));
  app.get('/oauth/jwks', (c) => c.json(server.jwks()));

  const loginPage = (
    c: Context,
    request: AuthorizeRequest,
    params: URLSearchParams,
    error?: { message: string; status: 401 | 429; retryAfter?: number },
  ) =>
    c.html(
      renderLoginPage({
        organization: deps.organization,
        clientName: request.client.name,
        redirectHost: new URL(request.redirectUri).host,
        scopes: formatScopes(request.scope)
          .split(' ')
          .filter((s) => s !== ''),
        params,
        askPatient: request.scope.some((s) => s.kind === 'named' && s.name === 'launch/patient'),
        ...(error === undefined ? {} : { error: error.message }),
      }),
      error?.status ?? 200,
      {
        ...NO_STORE,
        ...(error?.retryAfter === undefined ? {} : { 'retry-after': String(error.retryAfter) }),
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
      },
    );

  /**
   * Validates the request; problems with the client or redirect URI are shown here (never redirected
   * to an unverified URI), the rest are redirected back to the app (RFC 6749 §4.1.2.1).
   */
  const parseRequest = async (c: Context, params: URLSearchParams): Promise<AuthorizeRequest | Response> => {
    try {
      return await server.parseAuthorizeRequest(params);
    } catch (error) {
      if (!(error instanceof CareLedgerError)) throw error;
      const clientKnown =
        error.details.oauth !== 'invalid_client' && !error.message.startsWith('redirect_uri');
      if (clientKnown) {
        const url = new URL(params.get('redirect_uri') ?? '');
        url.searchParams.set('error', String(error.details.oauth ?? 'invalid_request'));
        url.searchParams.set('error_description', error.message);
        if (params.get('state') !== null) url.searchParams.set('state', params.get('state') as string);
        return c.redirect(url.toString(), 302);
      }
      return c.html(
        `<!doctype html><title>Sign-in refused</title><p>${error.message.replace(/[<>&]/g, '')}</p>`,
        400,
      );
    }
  };

  app.get('/oauth/authorize', async (c) => {
    const params = new URL(c.req.url).searchParams;
    const request = await parseRequest(c, params);
    return request instanceof Response ? request : loginPage(c, request, params);
  });

  /** SMART `authorize-post`, and the sign-in form's submission. */
  app.post('/oauth/authorize', async (c) => {
    const params = await readForm(c);
    const request = await parseRequest(c, params);
    if (request instanceof Response) return request;
    if (params.get('username') === null) return loginPage(c, request, params);
    try {
      const address = remoteAddress(c);
      const user = await server.authenticateUser(
        params.get('username') ?? '',
        params.get('password') ?? '',
        params.get('totp') ?? '',
        address === undefined ? {} : { address },
      );
      const patient = params.get('patient');
      return c.redirect(
        await server.issueCode(request, user, patient === null || patient === '' ? undefined : patient),
        302,
      );
    } catch (error) {
      if (error instanceof CareLedgerError && typeof error.details.oauth === 'string') {
        const limited = error.code === 'ERR_RATE_LIMITED';
        const retryAfter = error.details.retryAfter;
        return loginPage(c, request, params, {
          message: error.message,
          status: limited ? 429 : 401,
          ...(limited && typeof retryAfter === 'number' ? { retryAfter } : {}),
        });
      }
      throw error;
    }
  });

  app.post('/oauth/token', async (c) => {
    try {
      return c.json(await server.token(await readForm(c)), 200, NO_STORE);
    } catch (error) {
      return oauthErrorResponse(c, error);
    }
  });

  app.post('/oauth/revoke', async (c) => {
    try {
      await server.revoke(await readForm(c));
      return c.body(null, 200);
    } catch (error) {
      return oauthErrorResponse(c, error);
    }
  });

  app.post('/oauth/introspect', async (c) => {
    // RFC 7662 §2.1: the endpoint MUST require authorization, against token scanning. The caller shows
    // an access token of its own that this server issued and that is still good (§2.1's second option).
    const own = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    if (own === undefined || (await server.introspect(own)).active !== true) {
      return c.json(
        { error: 'invalid_token', error_description: 'introspection needs an access token of the caller' },
        401,
        { ...NO_STORE, 'www-authenticate': 'Bearer realm="careledger", error="invalid_token"' },
      );
    }
    try {
      const form = await readForm(c);
      return c.json(await server.introspect(form.get('token') ?? ''), 200, NO_STORE);
    } catch (error) {
      return oauthErrorResponse(c, error);
    }
  });

  /**
   * RFC 7591 dynamic registration, for public SMART apps (PKCE, no secret) only. With a software
   * statement signed by a publisher the operator trusts (§2.3) the app is approved at once, under the
   * statement's name and redirect URIs; otherwise it is registered pending, and nobody can sign in to
   * it until the operator approves it (`POST /admin/clients/{id}/approve`).
   */
  app.post('/oauth/register', async (c) => {
    let body: Record<string, unknown>;
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {
      return c.json({ error: 'invalid_client_metadata', error_description: 'the body is not JSON' }, 400);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return c.json(
        { error: 'invalid_client_metadata', error_description: 'the body must be a JSON object' },
        400,
      );
    }
    if ((body.token_endpoint_auth_method ?? 'none') !== 'none') {
      return c.json(
        {
          error: 'invalid_client_metadata',
          error_description: 'only public clients register themselves; ask the operator for private_key_jwt',
        },
        400,
      );
    }
    let statement: Awaited<ReturnType<typeof verifySoftwareStatement>> | undefined;
    if (body.software_statement !== undefined) {
      try {
        statement = await verifySoftwareStatement(
          String(body.software_statement),
          deps.softwareStatementKeys ?? [],
        );
      } catch (error) {
        const message = error instanceof CareLedgerError ? error.message : 'invalid software statement';
        return c.json({ error: 'invalid_software_statement', error_description: message }, 400);
      }
    }
    try {
      const client = await deps.users.createClient({
        name: statement?.clientName ?? String(body.client_name ?? ''),
        redirectUris:
          statement?.redirectUris ??
          (Array.isArray(body.redirect_uris) ? body.redirect_uris.map(String) : []),
        ...(typeof (statement?.scope ?? body.scope) === 'string'
          ? { allowedScopes: (statement?.scope ?? body.scope) as string }
          : {}),
        registeredVia: statement === undefined ? 'self' : 'software-statement',
        ...(statement?.softwareId === undefined ? {} : { softwareId: statement.softwareId }),
      });
      return c.json(
        {
          client_id: client.clientId,
          client_name: client.name,
          redirect_uris: client.redirectUris,
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          scope: client.allowedScopes,
          // Not an RFC 7591 field: whether the app can be used yet (pending until the operator approves).
          status: client.status,
          ...(client.softwareId === undefined ? {} : { software_id: client.softwareId }),
        },
        201,
        NO_STORE,
      );
    } catch (error) {
      if (error instanceof CareLedgerError && error.code === 'ERR_INVALID_INPUT') {
        const field = error.message.startsWith('client_name')
          ? 'invalid_client_metadata'
          : 'invalid_redirect_uri';
        return c.json({ error: field, error_description: error.message }, 400);
      }
      throw error;
    }
  });

  /**
   * OpenID Connect Core §5.3: the UserInfo endpoint answers an access token granted with `openid`
   * (§5.3.1; others: 403 insufficient_scope, RFC 6750 §3.1), and its `sub` is the ID Token's (§5.3.2:
   * a client must reject any other), with `fhirUser` as the ID Token has it (SMART App Launch 2.0:
   * an absolute URL, only under the `fhirUser` scope). The development identity header is no token.
   */
  app.get('/oauth/userinfo', async (c) => {
    await deps.authenticate(c);
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization')?.trim() ?? '')?.[1];
    if (token === undefined)
      throw new CareLedgerError('ERR_UNAUTHENTICATED', 'the UserInfo endpoint needs an access token', {
        details: { oauth: 'invalid_token' },
      });
    const claims = await deps.server.verifyAccessToken(token);
    const scopes = new Set(claims.scope.split(' '));
    if (!scopes.has('openid'))
      throw new CareLedgerError('ERR_FORBIDDEN', 'the access token was not granted the openid scope', {
        details: { oauth: 'insufficient_scope' },
      });
    return c.json(
      {
        sub: claims.sub,
        ...(scopes.has('fhirUser') && claims.fhirUser !== undefined
          ? { fhirUser: `${claims.aud}/${claims.fhirUser}` }
          : {}),
      },
      200,
      { 'cache-control': 'no-store' },
    );
  });

  return app;
}
