/**
 * Session 29 review: the development identity header (on in the demo consortium) is believed when the
 * TCP peer and the Host are loopback. A reverse proxy on the same machine (nginx in front of a demo
 * node, a common way to show it to others) makes both loopback for every caller on the network, so
 * anyone could act as any clinician. A request that a proxy relayed (RFC 7239 `Forwarded`, `Via`,
 * `X-Forwarded-For`, `X-Forwarded-Host`, `X-Real-IP`) is now refused like one from another machine.
 * Real HTTP on the loopback interface (@hono/node-server), the real authenticator.
 */
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../src/errors/index.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';

let server: ServerType;
let base: string;

beforeAll(async () => {
  const authenticate = createAuthenticator({ organization: 'Riverside', devIdentityHeader: true });
  const app = new Hono();
  app.get('/who', async (c) => c.json(await authenticate(c)));
  app.onError((error, c) => c.json({ code: error instanceof CareLedgerError ? error.code : 'other' }, 401));
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const identity = { 'X-CareLedger-Identity': 'Practitioner/dr-grey', 'X-CareLedger-Roles': 'clinician' };

describe('the development identity header behind a proxy', () => {
  it('is believed from this machine, straight to the node', async () => {
    const answer = await fetch(`${base}/who`, { headers: identity });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ who: 'Practitioner/dr-grey' });
  });

  it('is refused when a proxy relayed the request, whatever it says of the caller', async () => {
    const relays: Record<string, string>[] = [
      { Forwarded: 'for=203.0.113.7;proto=https' },
      { Via: '1.1 nginx' },
      { 'X-Forwarded-For': '203.0.113.7' },
      { 'X-Forwarded-For': '127.0.0.1' },
      { 'X-Forwarded-Host': 'demo.hospital.example' },
      { 'X-Real-IP': '203.0.113.7' },
    ];
    for (const relayed of relays) {
      const answer = await fetch(`${base}/who`, { headers: { ...identity, ...relayed } });
      expect(answer.status, JSON.stringify(relayed)).toBe(401);
      expect(await answer.json(), JSON.stringify(relayed)).toEqual({ code: 'ERR_UNAUTHENTICATED' });
    }
  });
});
