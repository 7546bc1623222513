/**
 * Session 29 review: `POST /oauth/register` needs no account (RFC 7591 open registration), and every
 * call stored one more app waiting for the operator: 30 anonymous registrations in a second all got
 * 201. Anyone could fill the store and bury a look-alike app among thousands in the approval queue.
 * Now a bounded number of self-registered apps may wait at once; beyond it the answer is 429 with
 * Retry-After until the operator approves or rejects some. The operator's own clients are not counted.
 * The node's HTTP shell and the real OAuth routes over a real SQLite auth store, in-process.
 */
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserDirectory } from '../../src/auth/index.js';
import { type OAuthTestApp, openOAuthTestApp, TEST_ISSUER } from '../support/oauth-test-app.js';

const _ISSUER = TEST_ISSUER;
const QUEUE = 3;

let oauth: OAuthTestApp;
let app: Hono;
let users: UserDirectory;

beforeAll(async () => {
  oauth = openOAuthTestApp({ name: 'registration-queue', maxPendingRegistrations: QUEUE });
  app = oauth.app;
  users = oauth.users;
});

afterAll(() => oauth?.close());

const register = (name: string) =>
  app.request('/oauth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: name, redirect_uris: ['https://app.example/callback'] }),
  });

describe('self-registration (RFC 7591) against flooding', () => {
  it('holds at most a bounded number of apps waiting for approval, then answers 429 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < QUEUE + 5; i++) statuses.push((await register(`app ${i}`)).status);
    expect(statuses).toEqual([...Array(QUEUE).fill(201), ...Array(5).fill(429)]);
    const refused = await register('one more');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await users.listClients({ status: 'pending' })).toHaveLength(QUEUE);
  });

  it("makes room as the operator decides, and never counts the operator's own clients", async () => {
    const [first] = await users.listClients({ status: 'pending' });
    await users.approveClient(first?.clientId as string);
    await users.createClient({ name: 'Operator app', redirectUris: ['https://ops.example/cb'] });
    expect((await register('after approval')).status).toBe(201);
    expect((await register('queue full again')).status).toBe(429);
  });
});
