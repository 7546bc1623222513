/**
 * Per-client_id limits at the token endpoint, over the real SQLite auth store and the real OAuth
 * routes (in-process HTTP): token requests per window, and failed private_key_jwt authentications,
 * each answered 429 with Retry-After and an RFC 6749 §5.2 error body once past the limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { createOAuthRoutes } from '../http/routes/oauth-routes.js';
import { createClientAssertion, createSigningKey } from '../smart/index.js';
import { openDatabase, type SqliteDatabase } from '../storage/sqlite/open-database.js';
import { authMigrations, SqliteAuthStore } from '../storage/sqlite/sqlite-auth-store.js';
import { AuthorizationServer } from './authorization-server.js';
import type { TokenRequestLimit } from './token-endpoint-limits.js';
import { UserDirectory } from './user-directory.js';

const ISSUER = 'https://node.example';
const dirs: string[] = [];
const dbs: SqliteDatabase[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function node(limit: TokenRequestLimit, clock: { now: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-token-limits-'));
  dirs.push(dir);
  const db = openDatabase(join(dir, 'auth.db'), authMigrations);
  dbs.push(db);
  const store = new SqliteAuthStore(db);
  const signing = createSigningKey('ES256');
  const server = new AuthorizationServer({
    store,
    issuer: ISSUER,
    fhirBaseUrl: `${ISSUER}/fhir`,
    signingKey: { privateJwk: signing.privateJwk, publicJwk: signing.publicJwk },
    openSecret: async () => '',
    now: () => clock.now,
    tokenRequestLimit: limit,
  });
  const users = new UserDirectory({ store, seal: async () => '', issuer: ISSUER });
  const app: Hono = createOAuthRoutes({
    server,
    users,
    organization: 'Test',
    authenticate: async () => {
      throw new CareLedgerError('ERR_UNAUTHENTICATED', 'not used here');
    },
  });
  const token = (form: Record<string, string>) =>
    app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
  return { users, token, server };
}

describe('token endpoint limits per client_id', () => {
  it('answers 429 with Retry-After past the window, per client, and again in the next window', async () => {
    const clock = { now: 1_700_000_010_000 };
    const { users, token } = await node({ requests: 3, windowSeconds: 60 }, clock);
    await users.createClient({ name: 'app', clientId: 'app', redirectUris: ['https://app.example/cb'] });
    await users.createClient({ name: 'other', clientId: 'other', redirectUris: ['https://app.example/cb'] });
    const refresh = (clientId: string) =>
      token({ grant_type: 'refresh_token', client_id: clientId, refresh_token: 'unknown' });
    for (let i = 0; i < 3; i += 1) expect((await refresh('app')).status).toBe(400);
    const limited = await refresh('app');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect(limited.headers.get('cache-control')).toBe('no-store');
    expect(await limited.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect((await refresh('other')).status).toBe(400);
    // An unknown client_id is refused as before and counts against no one.
    expect((await refresh('nobody')).status).toBe(401);
    clock.now += 30_000;
    expect((await refresh('app')).status).toBe(400);
  });

  it('locks a client_id after ten failed private_key_jwt authentications; a valid one clears the count', async () => {
    const clock = { now: 1_700_000_000_000 };
    const { users, token, server } = await node({ requests: 1_000, windowSeconds: 60 }, clock);
    const key = { ...createSigningKey('ES256'), kid: 'k1' };
    const forged = { ...createSigningKey('ES256'), kid: 'k1' };
    await users.createClient({
      name: 'backend',
      clientId: 'svc',
      jwks: { keys: [{ ...key.publicJwk, kid: 'k1' }] },
      allowedScopes: 'system/*.rs',
    });
    const attempt = async (jwk: typeof key) =>
      token({
        grant_type: 'client_credentials',
        scope: 'system/Patient.rs',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await createClientAssertion({
          clientId: 'svc',
          tokenEndpoint: server.tokenEndpoint,
          privateJwk: { ...jwk.privateJwk, kid: 'k1' },
          now: Math.floor(clock.now / 1000),
        }),
      });
    expect((await attempt(key)).status).toBe(200);
    for (let i = 0; i < 10; i += 1) expect((await attempt(forged)).status).toBe(401);
    const locked = await attempt(key);
    expect(locked.status).toBe(429);
    expect(locked.headers.get('retry-after')).toBe('1');
    expect((await locked.json()) as { error: string }).toMatchObject({ error: 'access_denied' });
    clock.now += 1_000;
    expect((await attempt(key)).status).toBe(200);
    // The success cleared the count: the next failure is a free one again.
    expect((await attempt(forged)).status).toBe(401);
    expect((await attempt(key)).status).toBe(200);
  });
});
