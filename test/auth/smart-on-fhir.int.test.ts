/**
 * SMART on FHIR at one member node over a real chain: a patient's standalone launch (authorization
 * code + PKCE, password + TOTP), scopes enforced on top of the access policy, refresh-token rotation
 * and reuse detection, revocation, every bad token answered 401 with WWW-Authenticate; another
 * member's system through SMART Backend Services (private_key_jwt), whose reads follow the patient's
 * ledger consent, a revocation taking effect for a token issued before it; break-glass with a second
 * factor, notifying the patient and the privacy officer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotp } from '../../src/identity/index.js';
import { createClientAssertion, createSigningKey, type Jwk, signJwt } from '../../src/smart/index.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyInApp } from '../support/enrol-patient-key.js';
import { findFreePort } from '../support/free-port.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

let solo: SoloNode;
let webhook: Server;
const received: unknown[] = [];
let base: string;
let adminToken: string;
const REDIRECT = 'http://127.0.0.1:9/callback';
const LAB = privateKeyToAccount(generatePrivateKey());
const doctorKey = privateKeyToAccount(generatePrivateKey());
let patientId: string;
let patientSecret: string;
let doctorSecret: string;
let officerSecret: string;
let patientAddress: `0x${string}`;
const patientKey = generatePrivateKey();
let clientId: string;
let grantBody: string;

const request = (path: string, init: RequestInit = {}) => solo.node.app.request(path, init);
const admin = async (path: string, body: unknown) => {
  const response = await request(`/admin${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return (await response.json()) as Record<string, string>;
};
const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});
/** The node's authorization clock: each sign-in moves it one TOTP step on (a code is never reused). */
let clockOffset = 0;
const clock = () => Date.now() + clockOffset;
const nextStep = () => {
  clockOffset += 30_000;
};
const totp = (secret: string, offsetSteps = 0) => generateTotp(secret, clock() + offsetSteps * 30_000);

/** The app's side of a standalone launch: authorize, sign in, take the code, redeem it with PKCE. */
async function launch(username: string, secret: string, scope: string, extra: Record<string, string> = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope,
    state: randomBytes(8).toString('hex'),
    aud: `${base}/fhir`,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  };
  nextStep();
  const page = await request(`/oauth/authorize?${new URLSearchParams(params)}`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('name="totp"');
  const signIn = await request(
    '/oauth/authorize',
    form({ ...params, username, password: 'correct horse battery staple', totp: totp(secret), ...extra }),
  );
  expect(signIn.status, await signIn.clone().text()).toBe(302);
  const location = new URL(signIn.headers.get('location') as string);
  expect(location.searchParams.get('state')).toBe(params.state);
  const code = location.searchParams.get('code') as string;
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
  return { code, verifier, body: (await token.json()) as Record<string, string> };
}

const bearer = (token: string, extra: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${token}`, ...extra },
});

beforeAll(async () => {
  const webhookPort = await findFreePort();
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.end('ok');
    });
  }).listen(webhookPort, '127.0.0.1');
  const port = await findFreePort();
  base = `http://127.0.0.1:${port}`;
  solo = await startSoloNode(
    { port, publicUrl: base, notifications: { webhookUrl: `http://127.0.0.1:${webhookPort}/hook` } },
    { authClock: clock },
  );
  adminToken = readFileSync(join(solo.dir, 'solo', 'admin.token'), 'utf8').trim();

  // The hospital attests its clinician's credential on the ledger; only then may they sign in.
  await admin('/practitioners', {
    practitioner: doctorKey.address,
    credentialHash: `0x${createHash('sha256').update('licence MD-12345').digest('hex')}`,
    qualificationCode: 'MD',
    expiresAt: Math.floor(Date.now() / 1000) + 86_400,
  });
  await solo.node.indexer.sync();

  // A patient with a ledger key, registered through the development header (the registrar's desk).
  patientAddress = privateKeyToAccount(patientKey).address;
  const created = await request('/fhir/Patient', {
    method: 'POST',
    headers: {
      'x-careledger-identity': 'Practitioner/reg-1',
      'x-careledger-roles': 'registrar',
      'content-type': 'application/fhir+json',
    },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Smart' }] }),
  });
  patientId = ((await created.json()) as { id: string }).id;
  // The patient proves possession of the key at the desk (issue 14 item 12).
  await enrolPatientKeyInApp(solo.node.app, patientId, patientKey);
  for (const type of ['Observation', 'Condition']) {
    await request(`/fhir/${type}`, {
      method: 'POST',
      headers: { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' },
      body: JSON.stringify(
        type === 'Observation'
          ? {
              resourceType: 'Observation',
              status: 'final',
              code: { text: 'pulse' },
              subject: { reference: `Patient/${patientId}` },
            }
          : {
              resourceType: 'Condition',
              code: { text: 'asthma' },
              subject: { reference: `Patient/${patientId}` },
            },
      ),
    });
  }
  patientSecret = (
    await admin('/users', {
      username: 'smart.patient',
      password: 'correct horse battery staple',
      fhirUser: `Patient/${patientId}`,
      ledgerAddress: patientAddress,
    })
  ).totpSecret as string;
  doctorSecret = (
    await admin('/users', {
      username: 'dr.one',
      password: 'correct horse battery staple',
      fhirUser: 'Practitioner/dr-1',
      roles: ['clinician'],
      ledgerAddress: doctorKey.address,
    })
  ).totpSecret as string;
  officerSecret = (
    await admin('/users', {
      username: 'privacy',
      password: 'correct horse battery staple',
      fhirUser: 'Practitioner/po-1',
      roles: ['privacy-officer'],
      ledgerAddress: doctorKey.address,
    })
  ).totpSecret as string;
  const registered = await request('/oauth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Test SMART app', redirect_uris: [REDIRECT] }),
  });
  expect(registered.status).toBe(201);
  clientId = ((await registered.json()) as { client_id: string }).client_id;
  // A self-registered app waits for the operator's approval (issue 14 item 6).
  await admin(`/clients/${clientId}/approve`, {});
}, 120_000);

afterAll(async () => {
  webhook?.close();
  await solo?.stop();
});

describe('SMART on FHIR', () => {
  it('publishes its SMART configuration under the FHIR base and in the CapabilityStatement', async () => {
    const config = (await (await request('/fhir/.well-known/smart-configuration')).json()) as Record<
      string,
      unknown
    >;
    expect(config.token_endpoint).toBe(`${base}/oauth/token`);
    expect(config.code_challenge_methods_supported).toEqual(['S256']);
    expect(config.capabilities).toEqual(
      expect.arrayContaining(['launch-standalone', 'permission-v2', 'client-confidential-asymmetric']),
    );
    const metadata = JSON.stringify(await (await request('/fhir/metadata')).json());
    expect(metadata).toContain('SMART-on-FHIR');
    expect(metadata).toContain(`${base}/oauth/authorize`);
  });

  it("launches a patient app: the patient's own data within the granted scopes, nothing wider", async () => {
    const { body } = await launch(
      'smart.patient',
      patientSecret,
      'launch/patient openid fhirUser offline_access patient/Observation.rs',
    );
    expect(body.patient).toBe(patientId);
    expect(body.scope).toBe('launch/patient openid fhirUser offline_access patient/Observation.rs');
    expect(body.id_token).toBeDefined();
    const observations = await request(
      `/fhir/Observation?subject=Patient/${patientId}`,
      bearer(body.access_token as string),
    );
    expect(observations.status).toBe(200);
    expect(((await observations.json()) as { entry: unknown[] }).entry).toHaveLength(1);
    const conditions = await request(
      `/fhir/Condition?subject=Patient/${patientId}`,
      bearer(body.access_token as string),
    );
    expect(conditions.status).toBe(403);
    expect(conditions.headers.get('www-authenticate')).toContain('insufficient_scope');
    const write = await request('/fhir/Observation', {
      method: 'POST',
      headers: { authorization: `Bearer ${body.access_token}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: `Patient/${patientId}` },
      }),
    });
    expect(write.status).toBe(403);
  });

  it('rotates refresh tokens, revokes the grant on reuse, and refuses a wider scope', async () => {
    const { body, code, verifier } = await launch(
      'smart.patient',
      patientSecret,
      'launch/patient offline_access patient/Observation.rs',
    );
    const replayedCode = await request(
      '/oauth/token',
      form({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: clientId,
        code_verifier: verifier,
      }),
    );
    expect(replayedCode.status).toBe(400);
    expect(((await replayedCode.json()) as { error: string }).error).toBe('invalid_grant');
    // A replayed code revokes what the code issued (RFC 6749 §4.1.2).
    const revokedByReplay = await request(
      '/oauth/token',
      form({ grant_type: 'refresh_token', refresh_token: body.refresh_token as string, client_id: clientId }),
    );
    expect(revokedByReplay.status).toBe(400);

    const { body: second } = await launch(
      'smart.patient',
      patientSecret,
      'launch/patient offline_access patient/Observation.rs',
    );
    const wider = await request(
      '/oauth/token',
      form({
        grant_type: 'refresh_token',
        refresh_token: second.refresh_token as string,
        client_id: clientId,
        scope: 'patient/*.rs',
      }),
    );
    expect(wider.status).toBe(400);
    expect(((await wider.json()) as { error: string }).error).toBe('invalid_scope');

    const rotated = await request(
      '/oauth/token',
      form({
        grant_type: 'refresh_token',
        refresh_token: second.refresh_token as string,
        client_id: clientId,
      }),
    );
    expect(rotated.status).toBe(200);
    const next = (await rotated.json()) as Record<string, string>;
    expect(next.refresh_token).not.toBe(second.refresh_token);
    const reuse = await request(
      '/oauth/token',
      form({
        grant_type: 'refresh_token',
        refresh_token: second.refresh_token as string,
        client_id: clientId,
      }),
    );
    expect(reuse.status).toBe(400);
    const afterReuse = await request(
      '/oauth/token',
      form({ grant_type: 'refresh_token', refresh_token: next.refresh_token as string, client_id: clientId }),
    );
    expect(afterReuse.status).toBe(400); // the whole grant was revoked
  });

  it('answers 401 with WWW-Authenticate for revoked, expired, forged and wrong-audience tokens', async () => {
    const { body } = await launch('smart.patient', patientSecret, 'launch/patient patient/Observation.rs');
    const token = body.access_token as string;
    expect((await request(`/fhir/Patient/${patientId}`, bearer(token))).status).toBe(403); // Observation scope only
    expect((await request(`/fhir/Observation?subject=Patient/${patientId}`, bearer(token))).status).toBe(200);

    const key = JSON.parse(readFileSync(join(solo.dir, 'solo', 'token-signing.jwk.json'), 'utf8')) as {
      privateJwk: Jwk;
    };
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    const now = Math.floor(clock() / 1000);
    const forged = {
      expired: await signJwt({ ...claims, exp: now - 10 }, key.privateJwk),
      'wrong audience': await signJwt({ ...claims, aud: 'https://elsewhere.example/fhir' }, key.privateJwk),
      'another key': await signJwt(claims, createSigningKey('ES256').privateJwk),
      garbage: 'not.a.token',
    };
    for (const [label, bad] of Object.entries(forged)) {
      const response = await request(`/fhir/Observation?subject=Patient/${patientId}`, bearer(bad));
      expect(response.status, label).toBe(401);
      expect(response.headers.get('www-authenticate'), label).toContain('error="invalid_token"');
      expect(((await response.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    }
    expect((await request('/oauth/revoke', form({ token }))).status).toBe(200);
    const revoked = await request(`/fhir/Observation?subject=Patient/${patientId}`, bearer(token));
    expect(revoked.status).toBe(401);
    expect(await revoked.text()).toContain('revoked');
  });

  it('sees a revoked refresh family and an expired token on the very next request, though the token was verified before (issue 16)', async () => {
    const path = `/fhir/Observation?subject=Patient/${patientId}`;
    const { body } = await launch(
      'smart.patient',
      patientSecret,
      'launch/patient offline_access patient/Observation.rs',
    );
    const token = body.access_token as string;
    expect((await request(path, bearer(token))).status).toBe(200);
    expect((await request(path, bearer(token))).status).toBe(200); // its signature and claims now come from the cache
    // Revoking the refresh token revokes its grant (the `fam` claim of the access token).
    expect((await request('/oauth/revoke', form({ token: body.refresh_token as string }))).status).toBe(200);
    const revoked = await request(path, bearer(token));
    expect(revoked.status).toBe(401);
    expect(await revoked.text()).toContain('revoked');

    const fresh = await launch('smart.patient', patientSecret, 'launch/patient patient/Observation.rs');
    expect((await request(path, bearer(fresh.body.access_token as string))).status).toBe(200);
    clockOffset += Number(fresh.body.expires_in) * 1000;
    const expired = await request(path, bearer(fresh.body.access_token as string));
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain('expired');
  });

  it('refuses a wrong password, a replayed one-time code, a wrong PKCE verifier and an unregistered redirect', async () => {
    const params = {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope: 'patient/Observation.rs',
      state: 's',
      aud: `${base}/fhir`,
      code_challenge: createHash('sha256').update('v'.repeat(43)).digest('base64url'),
      code_challenge_method: 'S256',
    };
    nextStep();
    const wrong = await request(
      '/oauth/authorize',
      form({ ...params, username: 'smart.patient', password: 'wrong password!', totp: totp(patientSecret) }),
    );
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('wrong username or password');
    const code = totp(patientSecret, 1);
    const first = await request(
      '/oauth/authorize',
      form({ ...params, username: 'smart.patient', password: 'correct horse battery staple', totp: code }),
    );
    expect(first.status).toBe(302);
    const again = await request(
      '/oauth/authorize',
      form({ ...params, username: 'smart.patient', password: 'correct horse battery staple', totp: code }),
    );
    expect(again.status).toBe(401);
    const location = new URL(first.headers.get('location') as string);
    const badPkce = await request(
      '/oauth/token',
      form({
        grant_type: 'authorization_code',
        code: location.searchParams.get('code') as string,
        redirect_uri: REDIRECT,
        client_id: clientId,
        code_verifier: 'w'.repeat(43),
      }),
    );
    expect(badPkce.status).toBe(400);
    const foreign = await request(
      `/oauth/authorize?${new URLSearchParams({ ...params, redirect_uri: 'https://attacker.example/cb' })}`,
    );
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get('location')).toBeNull();
    const otherServer = await request(
      `/oauth/authorize?${new URLSearchParams({ ...params, aud: 'https://elsewhere.example/fhir' })}`,
    );
    expect(otherServer.status).toBe(302);
    expect(new URL(otherServer.headers.get('location') as string).searchParams.get('error')).toBe(
      'invalid_request',
    );
  });

  it("lets another member's backend read only with the patient's consent, and a revocation stops a token already issued", async () => {
    const key = createSigningKey('ES384');
    const client = await admin('/clients', {
      name: 'Lab system',
      jwks: { keys: [key.publicJwk] },
      memberAddress: LAB.address,
      allowedScopes: 'system/*.rs',
    });
    const assertion = (jti?: string) =>
      createClientAssertion({
        clientId: client.clientId as string,
        tokenEndpoint: `${base}/oauth/token`,
        privateJwk: key.privateJwk,
        now: Math.floor(clock() / 1000),
        ...(jti === undefined ? {} : { jti }),
      });
    const tokenRequest = (a: string) =>
      request(
        '/oauth/token',
        form({
          grant_type: 'client_credentials',
          scope: 'system/*.rs system/Patient.cruds',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: a,
        }),
      );
    const once = await assertion('jti-1');
    const issued = await tokenRequest(once);
    expect(issued.status, await issued.clone().text()).toBe(200);
    const { access_token: token, scope } = (await issued.json()) as Record<string, string>;
    expect(scope).toBe('system/*.rs'); // never wider than the client's registration
    const replay = await tokenRequest(once);
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: string }).error).toBe('invalid_client');

    // Issue 14 item 5: a member without a grant is told nothing more than for a made-up id.
    expect((await request(`/fhir/Patient/${patientId}`, bearer(token as string))).status).toBe(404);
    // The patient signs a grant to the lab for demographics; any member relays it to the ledger.
    const signed = await signGrantForNewPatient({
      chainId: 31337,
      consentRegistry: solo.node.deployment.contracts.consentRegistry,
      grantee: LAB.address,
      categories: ['demographics'],
      purposes: ['TREAT'],
      nowSeconds: Math.floor(Date.now() / 1000) - 60,
      patientKey, // the key enrolled for this Patient
    });
    grantBody = signed.body;

    const relayed = await request('/ledger/consent/grants?wait=true', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: grantBody,
    });
    expect(relayed.status).toBe(201);
    await solo.node.indexer.sync();
    expect((await request(`/fhir/Patient/${patientId}`, bearer(token as string))).status).toBe(200);
    expect(
      (await request(`/fhir/Condition?subject=Patient/${patientId}&_total=accurate`, bearer(token as string)))
        .status,
    ).toBe(200);
    const conditions = (await (
      await request(`/fhir/Condition?subject=Patient/${patientId}&_total=accurate`, bearer(token as string))
    ).json()) as { total: number };
    expect(conditions.total).toBe(0); // conditions were not granted

    const revoke = await signed.revoke();
    const revoked = await request('/ledger/consent/revocations?wait=true', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: revoke,
    });
    expect(revoked.status, await revoked.clone().text()).toBe(201);
    await solo.node.indexer.sync();
    expect((await request(`/fhir/Patient/${patientId}`, bearer(token as string))).status).toBe(404);
  });

  it('opens break-glass only with a fresh second factor, and tells the patient and the privacy officer', async () => {
    const { body } = await launch('dr.one', doctorSecret, 'openid fhirUser user/*.cruds');
    const token = body.access_token as string;
    const declare = (headers: Record<string, string>) =>
      request(`/fhir/Patient/${patientId}/$break-glass`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/fhir+json',
          'x-careledger-purpose': 'ETREAT',
          ...headers,
        },
        body: JSON.stringify({
          resourceType: 'Parameters',
          parameter: [{ name: 'reason', valueString: 'unresponsive on arrival, allergies unknown' }],
        }),
      });
    nextStep();
    expect((await declare({})).status).toBe(403);
    expect((await declare({ 'x-careledger-totp': '000000' })).status).toBe(403);
    const opened = await declare({ 'x-careledger-totp': totp(doctorSecret, 1) });
    expect(opened.status, await opened.clone().text()).toBe(200);
    const session = (await opened.json()) as { parameter: { name: string; valueId?: string }[] };
    const sessionId = session.parameter.find((p) => p.name === 'session')?.valueId;

    const { body: patientToken } = await launch(
      'smart.patient',
      patientSecret,
      'launch/patient patient/*.rs',
    );
    const mine = (await (
      await request('/notifications', bearer(patientToken.access_token as string))
    ).json()) as { notifications: { kind: string; subject: string }[] };
    expect(mine.notifications.map((n) => n.subject)).toContain(`break-glass/${sessionId}`);
    const { body: officerToken } = await launch('privacy', officerSecret, 'user/*.rs');
    const theirs = (await (
      await request('/notifications', bearer(officerToken.access_token as string))
    ).json()) as { notifications: { subject: string }[] };
    expect(theirs.notifications.map((n) => n.subject)).toContain(`break-glass/${sessionId}`);
    const open = (await (
      await request('/break-glass', bearer(officerToken.access_token as string))
    ).json()) as { sessions: { id: string }[] };
    expect(open.sessions.map((s) => s.id)).toContain(sessionId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([expect.objectContaining({ type: 'break-glass', id: sessionId, patientId })]);
    expect(JSON.stringify(received)).not.toContain('unresponsive'); // the reason stays sealed in the AuditEvent
  });
});
