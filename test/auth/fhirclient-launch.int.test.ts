/**
 * The official SMART on FHIR JavaScript client (`fhirclient`, unmodified) launching standalone against a
 * real node over real HTTP: discovery under the FHIR base, authorization code with PKCE S256, the
 * sign-in page with password and TOTP, the token exchange, patient-context reads and a refresh. The
 * test plays the user's browser; a small `node:http` server plays the app, calling fhirclient's Node
 * entry on its launch URI (`authorize()`) and its redirect URI (`ready()`).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTotp } from '../../src/identity/index.js';
import { enrolPatientKeyOverHttp } from '../support/enrol-patient-key.js';
import { findFreePorts } from '../support/free-port.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

/**
 * The part of fhirclient 2.6.3's Node API this test uses, typed here: the package's own typings carry
 * `/// <reference lib="dom" />`, which would put DOM globals into the type check of all of `src/`.
 */
interface SmartStorage {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<unknown>;
  unset(key: string): Promise<boolean>;
}
interface TokenResponse {
  readonly access_token?: string;
  readonly refresh_token?: string;
  readonly scope?: string;
  readonly patient?: string;
}
interface SmartClient {
  readonly state: { readonly tokenResponse?: TokenResponse };
  readonly patient: {
    readonly id: string | null;
    read(): Promise<{ id?: string }>;
    request(url: string, options?: { flat?: boolean; pageLimit?: number }): Promise<unknown>;
  };
  readonly environment: { readonly options: { refreshTokenWithClientId?: boolean } };
  getFhirUser(): string | null;
  request(url: string, options?: { flat?: boolean; pageLimit?: number }): Promise<unknown>;
  refresh(): Promise<{ readonly tokenResponse?: TokenResponse }>;
}
type Smart = (
  req: IncomingMessage,
  res: ServerResponse,
  storage?: SmartStorage,
) => {
  authorize(options: {
    iss: string;
    clientId: string;
    redirectUri: string;
    scope: string;
    pkceMode: 'required';
  }): Promise<unknown>;
  ready(): Promise<SmartClient>;
};
/** The package's `main`, `lib/entry/node.js`: `smart(req, res, storage)` (its README, "Server Usage"). */
const smart = createRequire(import.meta.url)('fhirclient') as Smart;

const PASSWORD = 'correct horse battery staple';
const SCOPE = 'launch/patient openid fhirUser offline_access patient/Patient.rs patient/Observation.rs';

let solo: SoloNode;
let app: Server;
let base: string;
let appBase: string;
let clientId: string;
let patientId: string;
let patientSecret: string;

/** The node's authorization clock: each sign-in moves it one TOTP step on (a code is never reused). */
let clockOffset = 0;
const clock = () => Date.now() + clockOffset;
const nextTotp = () => {
  clockOffset += 30_000;
  return generateTotp(patientSecret, clock());
};

/**
 * fhirclient keeps its launch state (endpoints, PKCE verifier, tokens) in a server-side session: by
 * default `req.session`, as express-session makes it. This app keeps one in memory per browser cookie.
 */
const sessions = new Map<string, Map<string, unknown>>();
function sessionStorage(req: IncomingMessage, res: ServerResponse): SmartStorage {
  let sid = /(?:^|;\s*)sid=([0-9a-f-]+)/.exec(req.headers.cookie ?? '')?.[1];
  if (sid === undefined || !sessions.has(sid)) {
    sid = randomUUID();
    sessions.set(sid, new Map());
    res.setHeader('set-cookie', `sid=${sid}; Path=/; HttpOnly; SameSite=Lax`);
  }
  const values = sessions.get(sid) as Map<string, unknown>;
  return {
    get: async (key: string) => values.get(key),
    set: async (key: string, value: unknown) => {
      values.set(key, value);
      return value;
    },
    unset: async (key: string) => values.delete(key),
  };
}

/** The Clients the app's redirect URI got from `ready()`, by OAuth `state`, for the refresh tests. */
const clients = new Map<string, SmartClient>();

/**
 * The app: `/launch` starts a standalone launch (`iss` given, no `launch` parameter); `/callback`
 * completes it and reads the patient in context with the Client, answering what it read as JSON.
 */
async function handleApp(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', appBase);
  const storage = sessionStorage(req, res);
  try {
    if (url.pathname === '/launch') {
      await smart(req, res, storage).authorize({
        iss: `${base}/fhir`,
        clientId,
        redirectUri: '/callback',
        scope: SCOPE,
        pkceMode: 'required',
      });
      return;
    }
    if (url.pathname === '/callback') {
      const client = await smart(req, res, storage).ready();
      clients.set(url.searchParams.get('state') ?? '', client);
      const patient = await client.patient.read();
      const observations = await client.patient.request('Observation', {
        flat: true,
        pageLimit: 0,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          patientId: client.patient.id,
          fhirUser: client.getFhirUser(),
          tokenResponse: client.state.tokenResponse,
          state: client.state,
          patient,
          observations,
        }),
      );
      return;
    }
    res.writeHead(404).end();
  } catch (error) {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
  }
}

/** A user's browser: its own cookies per origin; redirects are followed by the test, step by step. */
function createBrowser() {
  const cookies = new Map<string, string>();
  return async (url: string, init: RequestInit = {}): Promise<Response> => {
    const { origin } = new URL(url);
    const cookie = cookies.get(origin);
    const response = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie === undefined ? {} : { cookie }) },
    });
    const set = response.headers.get('set-cookie');
    if (set !== null) cookies.set(origin, set.split(';')[0] as string);
    return response;
  };
}
type Browser = ReturnType<typeof createBrowser>;

const HTML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };
const unescapeHtml = (text: string) =>
  text.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => HTML_ENTITIES[entity] as string);

/** The sign-in form's hidden fields: the authorization request, carried through its POST. */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescapeHtml(name as string)] = unescapeHtml(value as string);
  }
  return fields;
}

/** Fills in and submits the sign-in form as the browser would (`action="/oauth/authorize"`). */
function signIn(browse: Browser, page: string, pageUrl: URL, totp: string) {
  return browse(new URL('/oauth/authorize', pageUrl).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      ...hiddenFields(page),
      username: 'smart.patient',
      password: PASSWORD,
      totp,
    }).toString(),
  });
}

/** Opens the app's launch URI; returns where fhirclient sent the browser and the page found there. */
async function openLaunch(browse: Browser): Promise<{ authorizeUrl: URL; page: string }> {
  const launch = await browse(`${appBase}/launch`);
  expect(launch.status, await launch.clone().text()).toBe(302);
  const authorizeUrl = new URL(launch.headers.get('location') as string);
  const page = await browse(authorizeUrl.href);
  expect(page.status).toBe(200);
  return { authorizeUrl, page: await page.text() };
}

/** Signs in on the authorization page; returns the redirect back to the app (code and state). */
async function authorize(browse: Browser): Promise<URL> {
  const { authorizeUrl, page } = await openLaunch(browse);
  const signedIn = await signIn(browse, page, authorizeUrl, nextTotp());
  expect(signedIn.status, await signedIn.clone().text()).toBe(302);
  return new URL(signedIn.headers.get('location') as string);
}

/** A whole launch as the patient; returns the Client that the app's `ready()` made. */
async function launchAsPatient(): Promise<SmartClient> {
  const browse = createBrowser();
  const callback = await authorize(browse);
  const answer = await browse(callback.href);
  expect(answer.status, await answer.clone().text()).toBe(200);
  return clients.get(callback.searchParams.get('state') as string) as SmartClient;
}

beforeAll(async () => {
  const [port, appPort] = (await findFreePorts(2)) as [number, number];
  base = `http://127.0.0.1:${port}`;
  appBase = `http://127.0.0.1:${appPort}`;
  solo = await startSoloNode({ port, publicUrl: base }, { authClock: clock });
  app = createServer((req, res) => {
    void handleApp(req, res);
  });
  await new Promise<void>((resolve) => app.listen(appPort, '127.0.0.1', resolve));

  // A patient with two Observations, registered through the development header (the registrar's desk).
  const created = await fetch(`${base}/fhir/Patient`, {
    method: 'POST',
    headers: {
      'x-careledger-identity': 'Practitioner/reg-1',
      'x-careledger-roles': 'registrar',
      'content-type': 'application/fhir+json',
    },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Launch', given: ['Fhirclient'] }] }),
  });
  expect(created.status).toBe(201);
  patientId = ((await created.json()) as { id: string }).id;
  // The patient's ledger key, enrolled with their proof of possession (issue 14 item 12).
  await enrolPatientKeyOverHttp(`${base}/fhir`, patientId, generatePrivateKey());
  for (const text of ['pulse', 'body temperature']) {
    const observation = await fetch(`${base}/fhir/Observation`, {
      method: 'POST',
      headers: { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { text },
        subject: { reference: `Patient/${patientId}` },
      }),
    });
    expect(observation.status).toBe(201);
  }

  const adminToken = readFileSync(join(solo.dir, 'solo', 'admin.token'), 'utf8').trim();
  const user = await fetch(`${base}/admin/users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'smart.patient', password: PASSWORD, fhirUser: `Patient/${patientId}` }),
  });
  expect(user.status, await user.clone().text()).toBeLessThan(300);
  patientSecret = ((await user.json()) as { totpSecret: string }).totpSecret;

  // RFC 7591 dynamic registration of a public client, as a SMART app registers itself.
  const registered = await fetch(`${base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'fhirclient app', redirect_uris: [`${appBase}/callback`] }),
  });
  expect(registered.status).toBe(201);
  clientId = ((await registered.json()) as { client_id: string }).client_id;
  // A self-registered app waits for the operator's approval (issue 14 item 6).
  const approved = await fetch(`${base}/admin/clients/${clientId}/approve`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}` },
  });
  expect(approved.status, await approved.clone().text()).toBe(200);
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => app?.close(resolve));
  await solo?.stop();
});

describe('the official fhirclient library, unmodified, against a node', () => {
  it("launches standalone with PKCE S256 and reads the patient's own record", async () => {
    const browse = createBrowser();
    const { authorizeUrl, page } = await openLaunch(browse);
    // SMART App Launch §2.0.6: fhirclient found the endpoints in /fhir/.well-known/smart-configuration.
    expect(`${authorizeUrl.origin}${authorizeUrl.pathname}`).toBe(`${base}/oauth/authorize`);
    expect(Object.fromEntries(authorizeUrl.searchParams)).toEqual({
      response_type: 'code',
      client_id: clientId,
      scope: SCOPE,
      redirect_uri: `${appBase}/callback`,
      aud: `${base}/fhir`,
      state: expect.any(String),
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge_method: 'S256',
    });
    expect(page).toContain('name="totp"');

    const signedIn = await signIn(browse, page, authorizeUrl, nextTotp());
    expect(signedIn.status, await signedIn.clone().text()).toBe(302);
    const callback = new URL(signedIn.headers.get('location') as string);
    expect(`${callback.origin}${callback.pathname}`).toBe(`${appBase}/callback`);
    expect(callback.searchParams.get('state')).toBe(authorizeUrl.searchParams.get('state'));

    const answer = await browse(callback.href);
    const body = (await answer.json()) as {
      patientId: string;
      fhirUser: string;
      tokenResponse: Record<string, unknown>;
      state: Record<string, unknown>;
      patient: { resourceType: string; id: string; name: { family: string }[] };
      observations: { resourceType: string; code: { text: string }; subject: { reference: string } }[];
    };
    expect(answer.status, JSON.stringify(body)).toBe(200);
    expect(body.patientId).toBe(patientId);
    expect(body.fhirUser).toBe(`Patient/${patientId}`);
    expect(body.tokenResponse).toMatchObject({
      token_type: 'Bearer',
      scope: SCOPE,
      patient: patientId,
      need_patient_banner: false,
      refresh_token: expect.any(String),
      id_token: expect.any(String),
    });
    expect(body.state).toMatchObject({
      serverUrl: `${base}/fhir`,
      tokenUri: `${base}/oauth/token`,
      codeChallengeMethods: ['S256'],
      codeVerifier: expect.any(String),
    });
    expect(body.patient).toMatchObject({
      resourceType: 'Patient',
      id: patientId,
      name: [{ family: 'Launch' }],
    });
    expect(body.observations.map((o) => o.code.text).sort()).toEqual(['body temperature', 'pulse']);
    expect(body.observations.every((o) => o.subject.reference === `Patient/${patientId}`)).toBe(true);
  });

  it('refreshes the access token with offline_access, the refresh token rotated', async () => {
    const client = await launchAsPatient();
    const first = { ...client.state.tokenResponse };
    // fhirclient's documented setting for servers that want the public client's id on a refresh;
    // fhirclient's option to send client_id on refresh (Keycloak wants it); the node takes both forms.
    client.environment.options.refreshTokenWithClientId = true;
    const refreshed = await client.refresh();
    expect(refreshed.tokenResponse?.access_token).not.toBe(first.access_token);
    expect(refreshed.tokenResponse?.refresh_token).not.toBe(first.refresh_token);
    expect(refreshed.tokenResponse?.scope).toBe(SCOPE);
    expect(refreshed.tokenResponse?.patient).toBe(patientId);
    const patient = (await client.patient.read()) as { id: string };
    expect(patient.id).toBe(patientId);
  });

  it('shows the sign-in page again on a wrong one-time code, and then completes the same launch', async () => {
    const browse = createBrowser();
    const { authorizeUrl, page } = await openLaunch(browse);
    const wrong = await signIn(browse, page, authorizeUrl, '000000');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('location')).toBeNull();
    const again = await wrong.text();
    expect(again).toContain('the one-time code is wrong');
    expect(hiddenFields(again)).toEqual(hiddenFields(page));

    const signedIn = await signIn(browse, again, authorizeUrl, nextTotp());
    expect(signedIn.status).toBe(302);
    const callback = signedIn.headers.get('location') as string;
    const answer = await browse(callback);
    expect(answer.status, await answer.clone().text()).toBe(200);
    expect(((await answer.json()) as { patientId: string }).patientId).toBe(patientId);
  });

  it("completes a launch only in the browser that started it, and refuses a forged code at the node's token endpoint", async () => {
    const browse = createBrowser();
    const callback = await authorize(browse);

    // The redirect URI opened in another browser: fhirclient finds no launch state in that session.
    const elsewhere = await createBrowser()(callback.href);
    expect(elsewhere.status).toBe(502);
    expect(((await elsewhere.json()) as { error: string }).error).toContain('No state found');

    // The right session with a forged code: the node answers invalid_grant, which fhirclient surfaces.
    const forged = new URL(callback);
    forged.searchParams.set('code', 'forged-code');
    const refused = await browse(forged.href);
    expect(refused.status).toBe(502);
    const { error } = (await refused.json()) as { error: string };
    expect(error).toContain('400');
    expect(error).toContain('invalid_grant');

    // Neither attempt used up the real code.
    const answer = await browse(callback.href);
    expect(answer.status, await answer.clone().text()).toBe(200);
  });
});

/** fhirclient's defaults, unchanged: its patient-scoped search helper and its token refresh. */
describe('fhirclient with its defaults', () => {
  it('client.patient.request finds the patient search parameter in the CapabilityStatement', async () => {
    const client = await launchAsPatient();
    // fhirclient (lib/lib.js getPatientParam) reads rest[0].resource[type].searchParam from /metadata.
    const bundle = (await client.patient.request('Observation')) as {
      resourceType: string;
      entry?: unknown[];
    };
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry?.length).toBeGreaterThan(0);
  });

  it('client.refresh() works without client_id, as RFC 6749 §6 allows a public client', async () => {
    const client = await launchAsPatient();
    const before = client.state.tokenResponse?.refresh_token;
    const refreshed = await client.refresh();
    expect(refreshed.tokenResponse?.access_token).toBeDefined();
    expect(refreshed.tokenResponse?.refresh_token).not.toBe(before);
  });
});
