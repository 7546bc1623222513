/**
 * Security review F8: `/oauth/userinfo` answered `sub: "Patient/<id>"` while the ID Token's `sub` is the
 * account id (OpenID Connect Core §5.3.2: the client must then reject the answer), and answered any
 * access token, also one granted without `openid` (§5.3.1). Real authorization server over a real
 * SQLite auth store; a token issued by the authorization-code flow (issueCode, then the token endpoint).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthorizationServer, UserAccount } from '../../src/auth/index.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';
import { type OAuthTestApp, openOAuthTestApp, TEST_ISSUER } from '../support/oauth-test-app.js';

const ISSUER = TEST_ISSUER;
const REDIRECT = 'http://127.0.0.1/callback';

let oauth: OAuthTestApp;
let app: Hono;
let server: AuthorizationServer;
let user: UserAccount;
let clientId: string;

beforeAll(async () => {
  oauth = openOAuthTestApp({
    name: 'userinfo',
    authenticate: (server) =>
      createAuthenticator({
        organization: 'Test',
        devIdentityHeader: true,
        bearer: async (token) =>
          server.accessContext(await server.verifyAccessToken(token), undefined, 'Test'),
      }),
  });
  app = oauth.app;
  server = oauth.server;
  ({ user } = await oauth.users.createUser({
    username: 'ann.patient',
    password: 'correct horse battery staple',
    fhirUser: 'Patient/ann',
  }));
  clientId = (await oauth.users.createClient({ name: 'Viewer', redirectUris: [REDIRECT] })).clientId;
});

afterAll(() => oauth?.close());

async function tokensFor(scope: string): Promise<{ access_token: string; id_token?: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const request = await server.parseAuthorizeRequest(
    new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope,
      state: 's',
      aud: `${ISSUER}/fhir`,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }),
  );
  const code = new URL(await server.issueCode(request, user, 'ann')).searchParams.get('code') as string;
  return server.token(
    new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: clientId,
      code_verifier: verifier,
    }),
  );
}

const userinfo = (headers: Record<string, string>) => app.request('/oauth/userinfo', { headers });

describe('OpenID Connect UserInfo (F8)', () => {
  it("answers the ID Token's sub and fhirUser", async () => {
    const tokens = await tokensFor('openid fhirUser launch/patient patient/*.rs');
    const idToken = decodeJwt(tokens.id_token as string);
    const answer = await userinfo({ authorization: `Bearer ${tokens.access_token}` });
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { sub: string; fhirUser?: string };
    expect(body.sub).toBe(idToken.sub);
    expect(body.fhirUser).toBe(idToken.fhirUser);
    expect(body.fhirUser).toBe(`${ISSUER}/fhir/Patient/ann`);
  });

  it('refuses an access token granted without openid (403 insufficient_scope) and the development header', async () => {
    const tokens = await tokensFor('launch/patient patient/*.rs');
    const refused = await userinfo({ authorization: `Bearer ${tokens.access_token}` });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('www-authenticate')).toContain('insufficient_scope');
    const header = await userinfo({ 'x-careledger-identity': 'Patient/ann' });
    expect(header.status).toBe(401);
  });
});
