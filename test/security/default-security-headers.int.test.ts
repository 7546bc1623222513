/**
 * Session 29 review: answers whose route set no policy of its own carried no Content-Security-Policy
 * and no X-Frame-Options: the authorization endpoint's HTML refusal page ("Sign-in refused", shown for
 * an unknown client or redirect URI) could be framed by any site, and so could every API answer.
 * Every answer now gets `default-src 'none'; frame-ancestors 'none'` and `X-Frame-Options: DENY`
 * unless its route chose its own (the sign-in page, the portal, printable copies keep theirs).
 * The node's HTTP shell and the real OAuth routes over a real SQLite auth store, in-process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationServer, UserDirectory } from '../../src/auth/index.js';
import { CareLedgerError } from '../../src/errors/index.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { createOAuthRoutes } from '../../src/http/routes/oauth-routes.js';
import { createSigningKey } from '../../src/smart/index.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import { authMigrations, SqliteAuthStore } from '../../src/storage/sqlite/sqlite-auth-store.js';

const ISSUER = 'https://node.example';
const REDIRECT = 'http://127.0.0.1/callback';

let dir: string;
let db: SqliteDatabase;
let app: Hono;
let clientId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-default-headers-'));
  db = openDatabase(join(dir, 'auth.db'), authMigrations);
  const store = new SqliteAuthStore(db);
  const signing = createSigningKey('ES256');
  const server = new AuthorizationServer({
    store,
    issuer: ISSUER,
    fhirBaseUrl: `${ISSUER}/fhir`,
    signingKey: { privateJwk: signing.privateJwk, publicJwk: signing.publicJwk },
    openSecret: async () => '',
  });
  const users = new UserDirectory({ store, seal: async () => '', issuer: ISSUER });
  clientId = (await users.createClient({ name: 'Native app', redirectUris: [REDIRECT] })).clientId;
  app = createNodeApp({ loadShedding: false });
  app.route(
    '/',
    createOAuthRoutes({
      server,
      users,
      organization: 'Test',
      authenticate: async () => {
        throw new CareLedgerError('ERR_UNAUTHENTICATED', 'not used here');
      },
    }),
  );
});

afterAll(() => {
  db?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

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
