/**
 * Session 29 review: answers whose route set no policy of its own carried no Content-Security-Policy
 * and no X-Frame-Options: the authorization endpoint's HTML refusal page ("Sign-in refused", shown for
 * an unknown client or redirect URI) could be framed by any site, and so could every API answer.
 * Every answer now gets `default-src 'none'; frame-ancestors 'none'` and `X-Frame-Options: DENY`
 * unless its route chose its own (the sign-in page, the portal, printable copies keep theirs).
 * The node's HTTP shell and the real OAuth routes over a real SQLite auth store, in-process.
 */
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OAuthTestApp, openOAuthTestApp, TEST_ISSUER } from '../support/oauth-test-app.js';

const ISSUER = TEST_ISSUER;
const REDIRECT = 'http://127.0.0.1/callback';

let oauth: OAuthTestApp;
let app: Hono;
let clientId: string;

beforeAll(async () => {
  oauth = openOAuthTestApp({ name: 'default-headers' });
  app = oauth.app;
  clientId = (await oauth.users.createClient({ name: 'Native app', redirectUris: [REDIRECT] })).clientId;
});

afterAll(() => oauth?.close());

const authorizeUrl = (client: string) =>
  `/oauth/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: client,
    redirect_uri: REDIRECT,
    scope: 'openid user/*.rs',
    state: 'state-1',
    aud: `${ISSUER}/fhir`,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  })}`;

describe('default content security policy and framing', () => {
  it("refuses to be framed or to load anything on the authorization endpoint's refusal page", async () => {
    const answer = await app.request(authorizeUrl('no-such-client'));
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toContain('text/html');
    expect(answer.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(answer.headers.get('x-frame-options')).toBe('DENY');
  });

  it('marks JSON answers and errors the same way', async () => {
    for (const path of ['/oauth/jwks', '/no-such-route']) {
      const answer = await app.request(path);
      expect(answer.headers.get('content-security-policy'), path).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
      expect(answer.headers.get('x-frame-options'), path).toBe('DENY');
    }
  });

  it("keeps the sign-in page's own policy (its inline style and form post)", async () => {
    const answer = await app.request(authorizeUrl(clientId));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    );
    expect(answer.headers.get('x-frame-options')).toBe('DENY');
  });
});
