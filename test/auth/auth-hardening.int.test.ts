/**
 * Issue 14, what an outside review broke in sign-in and the HTTP surface, at one member node over a
 * real chain: guessing passwords and one-time codes (sign-in and break-glass) is throttled and locks
 * out, audited without the username; CORS lists origins and never the development identity headers,
 * which work only on loopback; break-glass windows are capped by the node's policy; self-registered
 * apps wait for the operator (or carry a trusted software statement) and redirect only to https or
 * loopback, and the sign-in page names the redirect's host; revoking a grant revokes its access
 * tokens; every API answer carries `nosniff` and `no-store`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotp } from '../../src/identity/index.js';
import { saveNodeConfig } from '../../src/node/node-config.js';
import { startNode } from '../../src/node/start-node.js';
import { findFreePort } from '../support/free-port.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const PASSWORD = 'correct horse battery staple';
const REDIRECT = 'http://127.0.0.1:9/callback';
const doctorKey = privateKeyToAccount(generatePrivateKey());
const publisher = await generateKeyPair('ES256');
const stranger = await generateKeyPair('ES256');

let solo: SoloNode;
let base: string;
let adminToken: string;
let clientId: string;
const secrets: Record<string, string> = {};
const logLines: string[] = [];

/** The authorization server's clock: it moves only when a test moves it. */
let now = Date.now();
const clock = () => now;
const advance = (ms: number) => {
  now += ms;
};
const totp = (secret: string, offsetSteps = 0) => generateTotp(secret, now + offsetSteps * 30_000);

const request = (path: string, init: RequestInit = {}) => solo.node.app.request(path, init);
const admin = (path: string, init: RequestInit = {}) =>
  request(`/admin${path}`, {
    ...init,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...init.headers },
  });
const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});
const dev = (who: string, extra: Record<string, string> = {}) => ({
  headers: { 'x-careledger-identity': who, ...extra },
});

function authorizeParams(client = clientId, scope = 'openid fhirUser user/*.cruds offline_access') {
  const verifier = randomBytes(32).toString('base64url');
  return {
    verifier,
    params: {
      response_type: 'code',
      client_id: client,
      redirect_uri: REDIRECT,
      scope,
      state: randomBytes(8).toString('hex'),
      aud: `${base}/fhir`,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    },
  };
}

const signIn = (username: string, password: string, code: string) => {
  const { params } = authorizeParams();
  return request('/oauth/authorize', form({ ...params, username, password, totp: code }));
};

/** A full sign-in and code redemption; each one moves the clock a TOTP step on. */
async function launch(username: string, scope = 'openid fhirUser user/*.cruds offline_access') {
  advance(30_000);
  const { params, verifier } = authorizeParams(clientId, scope);
  const signedIn = await request(
    '/oauth/authorize',
    form({ ...params, username, password: PASSWORD, totp: totp(secrets[username] as string) }),
  );
  expect(signedIn.status, await signedIn.clone().text()).toBe(302);
  const code = new URL(signedIn.headers.get('location') as string).searchParams.get('code') as string;
  const token = await request(
    '/oauth/token',
    form({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: clientId,
      code_verifier: verifier,
    }),
  );
  expect(token.status, await token.clone().text()).toBe(200);
  return { response: token, body: (await token.json()) as Record<string, string> };
}

async function createUser(username: string, fhirUser: string, extra: Record<string, unknown> = {}) {
  const created = await admin('/users', {
    method: 'POST',
    body: JSON.stringify({ username, password: PASSWORD, fhirUser, ...extra }),
  });
  expect(created.status, await created.clone().text()).toBe(201);
  secrets[username] = ((await created.json()) as { totpSecret: string }).totpSecret;
}

let patientId: string;

beforeAll(async () => {
  const port = await findFreePort();
  base = `http://127.0.0.1:${port}`;
  solo = await startSoloNode(
    {
      port,
      publicUrl: base,
      clientRegistration: { softwareStatementKeys: [await exportJWK(publisher.publicKey)] },
    },
    { authClock: clock, log: (line) => logLines.push(line) },
  );
  adminToken = readFileSync(join(solo.dir, 'solo', 'admin.token'), 'utf8').trim();
  const attested = await admin('/practitioners', {
    method: 'POST',
    body: JSON.stringify({
      practitioner: doctorKey.address,
      credentialHash: `0x${createHash('sha256').update('licence MD-77').digest('hex')}`,
      qualificationCode: 'MD',
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    }),
  });
  expect(attested.status, await attested.clone().text()).toBe(201);
  await solo.node.indexer.sync();
  const patient = await request('/fhir/Patient', {
    method: 'POST',
    headers: {
      ...dev('Practitioner/reg-1', { 'x-careledger-roles': 'registrar' }).headers,
      'content-type': 'application/fhir+json',
    },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Hardening' }] }),
  });
  expect(patient.status, await patient.clone().text()).toBe(201);
  patientId = ((await patient.json()) as { id: string }).id;
  await createUser('dr.guard', 'Practitioner/dr-guard', {
    roles: ['clinician'],
    ledgerAddress: doctorKey.address,
  });
  for (const name of ['pw.target', 'totp.target', 'family.patient'])
    await createUser(name, `Patient/${name.replace('.', '-')}`);
  const registered = await request('/oauth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Hardening app', redirect_uris: [REDIRECT] }),
  });
  expect(registered.status).toBe(201);
  clientId = ((await registered.json()) as { client_id: string }).client_id;
  expect((await admin(`/clients/${clientId}/approve`, { method: 'POST' })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await solo?.stop();
});

describe('throttling of passwords and one-time codes (RFC 4226 §7.3, SP 800-63B §5.2.2)', () => {
  it('40 wrong passwords lock the account: the right one is refused with 429 and Retry-After until the delay passes', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) statuses.push((await signIn('pw.target', `wrong ${i}`, '000000')).status);
    // Five free failures, then every attempt waits (refused unchecked, so it guesses nothing).
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    const right = await signIn('pw.target', PASSWORD, totp(secrets['pw.target'] as string));
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await right.text()).toContain('too many failed attempts');
    advance(Number(right.headers.get('retry-after')) * 1000);
    const later = await signIn('pw.target', PASSWORD, totp(secrets['pw.target'] as string));
    expect(later.status, await later.clone().text()).toBe(302);
  });

  it('40 wrong one-time codes lock the account; the right code is refused until the delay passes', async () => {
    advance(30_000);
    const wrongCode = totp(secrets['totp.target'] as string, 100);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i += 1) statuses.push((await signIn('totp.target', PASSWORD, wrongCode)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    const right = await signIn('totp.target', PASSWORD, totp(secrets['totp.target'] as string));
    expect(right.status).toBe(429);
    advance(Number(right.headers.get('retry-after')) * 1000);
    expect((await signIn('totp.target', PASSWORD, totp(secrets['totp.target'] as string))).status).toBe(302);
  });

  it('an unknown username locks the same way and says the same thing (no oracle of which accounts exist)', async () => {
    const texts: string[] = [];
    for (const username of ['pw.target', 'nobody.here']) {
      for (let i = 0; i < 5; i += 1) await signIn(username, `wrong ${i}`, '000000');
      const locked = await signIn(username, 'wrong again', '000000');
      expect(locked.status).toBe(429);
      const alert = /<p class="error" role="alert">([^<]*)<\/p>/.exec(await locked.text())?.[1] ?? '';
      texts.push(alert.replace(/[0-9]+ s/g, 'N s'));
    }
    expect(texts[0]).toContain('too many failed attempts');
    expect(texts[0]).toBe(texts[1]);
    expect((await admin('/users/pw.target/unlock', { method: 'POST' })).status).toBe(200);
    expect((await signIn('pw.target', PASSWORD, totp(secrets['pw.target'] as string, 1))).status).toBe(302);
  });

  it('audits each lockout (a sealed AuditEvent, and a line for the operator) without the username or the address', async () => {
    const lines = logLines.filter((l) => l.includes('security: sign-in'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toMatch(/pw\.target|totp\.target|nobody\.here|127\.0\.0\.1/);
    expect(logLines.join('\n')).not.toContain('lockout audit failed');
    const audit = await request(
      '/fhir/AuditEvent?_count=500',
      dev('Practitioner/po-1', {
        'x-careledger-roles': 'privacy-officer',
        'x-careledger-purpose': 'HOPERAT',
      }),
    );
    const text = await audit.text();
    expect(audit.status).toBe(200);
    const lockouts = ((JSON.parse(text) as { entry?: { resource: Record<string, unknown> }[] }).entry ?? [])
      .map((e) => e.resource)
      .filter((r) => String(r.outcomeDesc ?? '').includes('locked after'));
    expect(lockouts.length).toBeGreaterThan(0);
    expect(JSON.stringify(lockouts)).not.toMatch(/pw\.target|totp\.target|nobody\.here/);
  });

  it('throttles the break-glass one-time code the same way', async () => {
    const { body } = await launch('dr.guard');
    const declare = (code: string) =>
      request(`/fhir/Patient/${patientId}/$break-glass`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${body.access_token}`,
          'content-type': 'application/fhir+json',
          'x-careledger-purpose': 'ETREAT',
          'x-careledger-totp': code,
        },
        body: JSON.stringify({
          resourceType: 'Parameters',
          parameter: [{ name: 'reason', valueString: 'arrest in the ward' }],
        }),
      });
    const wrongCode = totp(secrets['dr.guard'] as string, 100);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) statuses.push((await declare(wrongCode)).status);
    expect(statuses.slice(0, 5)).toEqual([403, 403, 403, 403, 403]);
    expect(new Set(statuses.slice(5))).toEqual(new Set([429]));
    const right = await declare(totp(secrets['dr.guard'] as string, 1));
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toMatch(/^[0-9]+$/);
    advance(Number(right.headers.get('retry-after')) * 1000 + 30_000);
    expect((await declare(totp(secrets['dr.guard'] as string))).status).toBe(200);
  });
});

describe('break-glass window', () => {
  it("refuses a window longer than the node's policy, naming the limit", async () => {
    const { body } = await launch('dr.guard');
    const asked = await request(`/fhir/Patient/${patientId}/$break-glass`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${body.access_token}`,
        'content-type': 'application/fhir+json',
        'x-careledger-purpose': 'ETREAT',
        'x-careledger-totp': totp(secrets['dr.guard'] as string, 1),
      },
      body: JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: 'reason', valueString: 'arrest in the ward' },
          { name: 'minutes', valueInteger: 1440 },
        ],
      }),
    });
    expect(asked.status).toBe(400);
    expect(await asked.text()).toContain('at most 60 minutes');
  });
});

describe('CORS and the development identity header', () => {
  it('answers only listed origins, and never allows the identity headers', async () => {
    const preflight = (origin: string) =>
      request('/fhir/Patient', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'GET',
          'access-control-request-headers': 'x-careledger-identity, x-careledger-roles',
        },
      });
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const own = await preflight(base);
    expect(own.headers.get('access-control-allow-origin')).toBe(base);
    expect(own.headers.get('access-control-allow-headers')?.toLowerCase()).not.toContain('identity');
    expect(own.headers.get('access-control-allow-headers')?.toLowerCase()).not.toContain('roles');
    const read = await request('/fhir/Patient', dev('Practitioner/dr-1', { origin: 'https://evil.example' }));
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('believes the header only from a loopback peer with a loopback Host', async () => {
    const headers = dev('Practitioner/dr-1').headers;
    const remote = (remoteAddress: string) => ({ incoming: { socket: { remoteAddress } } });
    expect((await solo.node.app.request('/fhir/Patient', { headers }, remote('203.0.113.9'))).status).toBe(
      401,
    );
    expect(
      (await solo.node.app.request('/fhir/Patient', { headers }, remote('::ffff:10.1.2.3'))).status,
    ).toBe(401);
    expect((await solo.node.app.request('/fhir/Patient', { headers }, remote('127.0.0.1'))).status).not.toBe(
      401,
    );
    // DNS rebinding: a page at evil.example resolved to 127.0.0.1 is same-origin to itself.
    expect((await request('http://evil.example/fhir/Patient', { headers })).status).toBe(401);
    expect((await fetch(`${base}/fhir/Patient`, { headers })).status).not.toBe(401);
  });

  it('says so loudly at start, and refuses to start on a non-loopback address', async () => {
    expect(logLines.some((l) => l.includes('DEVELOPMENT IDENTITY HEADER ON'))).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'careledger-bind-'));
    try {
      saveNodeConfig(dir, {
        name: 'exposed',
        organization: 'Exposed Clinic',
        role: 'provider',
        host: '0.0.0.0',
        port: 0,
        publicUrl: 'http://192.0.2.1:8080',
        logOrigin: 'exposed.careledger.test/log',
        chain: { rpcUrl: solo.chain.rpcUrl, chainId: 31337 },
        deploymentFile: join(dir, 'no-deployment.json'),
        devIdentityHeader: true,
      });
      await expect(startNode(dir, { log: () => undefined })).rejects.toMatchObject({
        code: 'ERR_CONFIG',
        message: expect.stringContaining('loopback'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('client registration (RFC 7591) against look-alike apps', () => {
  const register = (body: unknown) =>
    request('/oauth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('refuses redirects that are not https or loopback http', async () => {
    for (const uri of [
      'javascript:alert(document.domain)',
      'javascript://127.0.0.1/%0aalert(1)',
      'data:text/html,hi',
      'http://evil.example/callback',
      'https://portal.example@evil.example/callback',
      'https://app.example/callback#frag',
    ]) {
      const refused = await register({ client_name: 'Look-alike', redirect_uris: [uri] });
      expect(refused.status, uri).toBe(400);
    }
  });

  it("holds a self-registered app until the operator approves it; the sign-in page names the redirect's host", async () => {
    const registered = await register({
      client_name: 'CareLedger portal',
      redirect_uris: ['https://careledger-portal.example.net/cb'],
    });
    expect(registered.status).toBe(201);
    const { client_id: id, status } = (await registered.json()) as { client_id: string; status: string };
    expect(status).toBe('pending');
    const ask = () => {
      const { params } = authorizeParams(id, 'openid');
      return request(
        `/oauth/authorize?${new URLSearchParams({ ...params, redirect_uri: 'https://careledger-portal.example.net/cb' })}`,
      );
    };
    const refused = await ask();
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('approval');
    const pending = (await (await admin('/clients?status=pending')).json()) as {
      clients: { clientId: string }[];
    };
    expect(pending.clients.map((c) => c.clientId)).toContain(id);
    expect((await admin(`/clients/${id}/approve`, { method: 'POST' })).status).toBe(200);
    const page = await ask();
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('careledger-portal.example.net');
  });

  it('registers at once with a software statement signed by a trusted publisher, and not with another key', async () => {
    const statement = (key: Parameters<SignJWT['sign']>[0]) =>
      new SignJWT({
        client_name: 'Signed Health App',
        redirect_uris: ['https://signed.example/cb'],
        software_id: 'signed-health-app',
      })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer('https://publisher.example')
        .setIssuedAt()
        .sign(key);
    const signed = await register({
      client_name: 'Not this name',
      redirect_uris: ['https://elsewhere.example/cb'],
      software_statement: await statement(publisher.privateKey),
    });
    expect(signed.status, await signed.clone().text()).toBe(201);
    expect(await signed.json()).toMatchObject({
      status: 'approved',
      client_name: 'Signed Health App',
      redirect_uris: ['https://signed.example/cb'],
    });
    const forged = await register({ software_statement: await statement(stranger.privateKey) });
    expect(forged.status).toBe(400);
    expect(((await forged.json()) as { error: string }).error).toBe('invalid_software_statement');
  });
});

describe('tokens and headers', () => {
  it("revoking a grant's refresh token revokes the access tokens issued under it", async () => {
    const { body } = await launch(
      'family.patient',
      'openid fhirUser launch/patient patient/*.rs offline_access',
    );
    const read = () =>
      request('/oauth/userinfo', { headers: { authorization: `Bearer ${body.access_token}` } });
    expect((await read()).status).toBe(200);
    expect((await request('/oauth/revoke', form({ token: body.refresh_token as string }))).status).toBe(200);
    const after = await read();
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('marks FHIR reads, searches and the token endpoint nosniff and no-store', async () => {
    const { response } = await launch('dr.guard');
    const answers = {
      read: await request(`/fhir/Patient/${patientId}`, dev('Practitioner/dr-1')),
      search: await request('/fhir/Patient?name=Hardening', dev('Practitioner/dr-1')),
      error: await request('/fhir/Patient/does-not-exist', dev('Practitioner/dr-1')),
      token: response,
    };
    for (const [name, answer] of Object.entries(answers)) {
      expect(answer.headers.get('x-content-type-options'), name).toBe('nosniff');
      expect(answer.headers.get('cache-control'), name).toContain('no-store');
    }
  });
});

describe('per-client throttling', () => {
  it('one address spraying many usernames is slowed down too', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 22; i += 1) {
      const { params } = authorizeParams();
      const answer = await fetch(`${base}/oauth/authorize`, {
        ...form({ ...params, username: `spray.${i}`, password: 'Winter2026!', totp: '000000' }),
        redirect: 'manual',
      });
      statuses.push(answer.status);
    }
    expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
    expect(statuses.slice(20)).toEqual([429, 429]);
  });
});
