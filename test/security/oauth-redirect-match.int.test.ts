/**
 * Session 29 review: the authorization endpoint matched a loopback redirect URI by host, path and
 * scheme only, so `http://127.0.0.1/callback?x=1`, `…/callback#x`, `http://evil@127.0.0.1/callback`
 * and `…/x/../callback` all passed for a client registered with `http://127.0.0.1/callback`, and the
 * authorization code went to the URI as sent. RFC 9700 §4.1.3 asks for exact string matching; RFC
 * 8252 §7.3 allows only the port of a loopback redirect to vary. Real SQLite auth store, the real
 * OAuth routes in-process.
 */
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OAuthTestApp, openOAuthTestApp, TEST_ISSUER } from '../support/oauth-test-app.js';

const ISSUER = TEST_ISSUER;
const REGISTERED = 'http://127.0.0.1/callback';

let oauth: OAuthTestApp;
let app: Hono;
let clientId: string;

beforeAll(async () => {
  oauth = openOAuthTestApp({ name: 'redirect-match' });
  app = oauth.app;
  clientId = (await oauth.users.createClient({ name: 'Native app', redirectUris: [REGISTERED] })).clientId;
});

afterAll(() => oauth?.close());

/** GET /oauth/authorize with a valid request but for its redirect_uri. */
function authorize(redirectUri: string) {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid fhirUser user/*.rs',
    state: 'state-1',
    aud: `${ISSUER}/fhir`,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  return app.request(`/oauth/authorize?${params}`);
}

describe('redirect_uri matching at the authorization endpoint', () => {
  it('accepts the registered URI, and the same loopback URI on another port (RFC 8252 §7.3)', async () => {
    for (const uri of [REGISTERED, 'http://127.0.0.1:53124/callback']) {
      const response = await authorize(uri);
      expect(response.status, uri).toBe(200);
      expect(await response.text(), uri).toContain('Sign in to Test');
    }
  });

  it('refuses a loopback URI that differs in anything but the port, without redirecting to it', async () => {
    for (const uri of [
      'http://127.0.0.1/callback?x=1',
      'http://127.0.0.1:53124/callback?next=https://evil.example',
      'http://127.0.0.1/callback#x',
      'http://evil@127.0.0.1/callback',
      'http://127.0.0.1/x/../callback',
      'HTTP://127.0.0.1/callback',
      'http://127.0.0.1/callback/',
    ]) {
      const response = await authorize(uri);
      expect(response.status, uri).toBe(400);
      expect(response.headers.get('location'), uri).toBeNull();
      expect(await response.text(), uri).toContain('redirect_uri is not registered');
    }
  });
});
