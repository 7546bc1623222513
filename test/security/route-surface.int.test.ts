/**
 * Issue 14, the whole HTTP surface of a node at once, as an outside reviewer sweeps it: every route the
 * node mounts (read from the app, so a route added later is swept too), asked
 *
 * - with no credentials: refused with 401, unless it is on the short list of routes that are public on
 *   purpose (discovery, the ledger's pseudonymous index, the log, sign-in, the portal's files, and the
 *   routes whose request carries its own proof: a patient's signature, a share's link and code);
 * - from a page on another origin: no CORS permission for it, preflight or not;
 * - with a malformed body, by a patient, a clinician, a registrar and another member: never a 5xx;
 *
 * and every answer carries `X-Content-Type-Options: nosniff` and `Cache-Control: no-store` (but the
 * discovery documents), and every refusal of a FHIR-style route is an OperationOutcome. One solo node on
 * a real chain, in-process HTTP; no timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

let solo: SoloNode;
let routes: { method: string; path: string }[];

/**
 * Routes that answer without a token, each with why. A method and a path pattern as mounted; everything
 * else must refuse an anonymous request with 401.
 */
const PUBLIC: readonly (readonly [method: string, path: RegExp, why: string])[] = [
  ['GET', /^\/(health|status)$/, 'liveness and the node’s public identity (no PHI)'],
  ['GET', /^\/$/, 'redirect to the portal'],
  ['GET', /^\/portal(\/.*)?$/, 'the portal’s own files'],
  ['GET', /^\/openapi\.json$/, 'the API description'],
  ['GET', /^(\/fhir)?\/\.well-known\//, 'SMART, OpenID and document-signer discovery'],
  ['GET', /^\/fhir\/metadata$/, 'the CapabilityStatement (FHIR R4 §3.1.0.8: no authentication)'],
  ['GET', /^\/oauth\/(jwks|authorize)$/, 'token signing keys; the sign-in page'],
  ['POST', /^\/oauth\/(authorize|token|revoke|register)$/, 'OAuth endpoints authenticate in the body'],
  [
    'GET',
    /^\/ledger\//,
    'the node’s index of the ledger: pseudonymous, no PHI, no consent terms (decision 0031)',
  ],
  ['POST', /^\/ledger\/consent\//, 'relaying what a patient or delegate signed: the signature is the proof'],
  ['GET', /^\/log\//, 'the transparency log (C2SP tlog-tiles): hashes only'],
  ['POST', /^\/log\/proofs$/, 'inclusion proofs for hashes the caller holds'],
  ['POST', /^\/witness\//, 'cosigning: the checkpoint’s signature is the proof'],
  [
    'GET',
    /^\/research\/studies(\/:id(\/protocol)?)?$/,
    'the consortium’s study registry and protocols (no PHI)',
  ],
  ['GET', /^\/claims\/policies/, 'a payer’s published benefit rules'],
  ['POST', /^\/shared\/:id\/open$/, 'a share’s link and one-time code are the proof (throttled)'],
  ['GET', /^\/shared\/:id\//, 'a share’s link and viewing session are the proof'],
  ['OPTIONS', /^\/epcis/, 'EPCIS 2.0 capability headers'],
  ['GET', /^\/portal\/api\/consent-nonce$/, 'a ledger address’s next consent nonce, public on chain'],
];

/** Answers that set their own caching on purpose (public; a checkpoint is revalidated, `no-cache`). */
const CACHEABLE = /^((\/fhir)?\/\.well-known\/smart-configuration|\/log\/checkpoint)$/;

/** Routes that answer in a format of their own standard rather than FHIR's OperationOutcome. */
const OWN_FORMAT = /^\/(oauth|epcis|log|witness)\b/;

const EVIL = 'https://evil.example';

function isPublic(method: string, path: string): boolean {
  return PUBLIC.some(([m, pattern]) => m === method && pattern.test(path));
}

/** A concrete URL for a mounted pattern: a real resource type for `:type`, made-up ids elsewhere. */
function urlOf(path: string): string {
  return `http://127.0.0.1${path
    .replace(/:type/g, 'Observation')
    .replace(/:eventType/g, 'ObjectEvent')
    .replace(/:vid/g, '1')
    .replace(/:([A-Za-z_]+)(\{[^}]*\})?/g, 'made-up-1')
    .replace(/\*$/, 'x')}`;
}

const IDENTITIES: Record<string, Record<string, string>> = {
  patient: { 'x-careledger-identity': 'Patient/p-1' },
  clinician: { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' },
  registrar: { 'x-careledger-identity': 'Practitioner/reg-1', 'x-careledger-roles': 'registrar' },
  member: { 'x-careledger-identity': 'Organization/0x00000000000000000000000000000000000000bb' },
};

beforeAll(async () => {
  solo = await startSoloNode();
  const seen = new Set<string>();
  routes = solo.node.app.routes
    .filter((r) => r.method !== 'ALL')
    .filter((r) => {
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((r) => ({ method: r.method, path: r.path }));
}, 120_000);

afterAll(async () => {
  await solo?.stop();
});

async function ask(method: string, path: string, headers: Record<string, string>, body?: string) {
  const response = await solo.node.app.request(urlOf(path), {
    method,
    headers: { host: '127.0.0.1', 'content-type': 'application/json', ...headers },
    ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body }),
  });
  return { response, text: await response.text() };
}

describe('every route the node mounts', () => {
  it('includes the surfaces added last: shares, patient rights, research, supply, credentials', () => {
    const paths = routes.map((r) => r.path);
    for (const expected of [
      '/shares',
      '/shared/:id/open',
      '/patient-rights/amendments',
      '/patient-rights/disclosures',
      '/research/studies/:id/$export',
      '/epcis/capture',
      '/admin/credentials/records',
      '/patient/keystore',
    ]) {
      expect(paths).toContain(expected);
    }
  });

  it('refuses an anonymous request with 401 unless the route is public on purpose', async () => {
    const open: string[] = [];
    for (const { method, path } of routes) {
      if (isPublic(method, path)) continue;
      const { response, text } = await ask(method, path, {}, '{}');
      if (response.status !== 401) open.push(`${method} ${path} → ${response.status} ${text.slice(0, 80)}`);
      else if (!OWN_FORMAT.test(path)) expect(text, `${method} ${path}`).toContain('OperationOutcome');
    }
    expect(open).toEqual([]);
  });

  it('marks every answer nosniff and no-store, but the discovery documents', async () => {
    const wrong: string[] = [];
    for (const { method, path } of routes) {
      const { response } = await ask(method, path, IDENTITIES.patient ?? {}, '{}');
      const cache = response.headers.get('cache-control');
      if (response.headers.get('x-content-type-options') !== 'nosniff') wrong.push(`${method} ${path} sniff`);
      if (!CACHEABLE.test(path) && cache !== 'no-store') wrong.push(`${method} ${path} cache ${cache}`);
    }
    expect(wrong).toEqual([]);
  });

  it('gives a page on another origin no CORS permission, preflight or not', async () => {
    const allowed: string[] = [];
    for (const { method, path } of routes) {
      const preflight = await ask('OPTIONS', path, {
        origin: EVIL,
        'access-control-request-method': method,
        'access-control-request-headers': 'authorization, x-careledger-identity',
      });
      const simple = await ask(method, path, { origin: EVIL, ...IDENTITIES.clinician }, '{}');
      for (const { response } of [preflight, simple]) {
        const origin = response.headers.get('access-control-allow-origin');
        if (origin === '*' || origin === EVIL) allowed.push(`${method} ${path}`);
        const headers = response.headers.get('access-control-allow-headers') ?? '';
        if (/x-careledger-identity/i.test(headers)) allowed.push(`${method} ${path} identity header`);
      }
    }
    expect(allowed).toEqual([]);
  });

  it('answers another member and another patient alike for a patient or record that exists and one that does not', async () => {
    const clinician = { ...IDENTITIES.clinician, 'content-type': 'application/fhir+json' };
    const created = async (resource: object) => {
      const response = await solo.node.app.request(
        'http://127.0.0.1/fhir/' + (resource as { resourceType: string }).resourceType,
        {
          method: 'POST',
          headers: { host: '127.0.0.1', ...clinician },
          body: JSON.stringify(resource),
        },
      );
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: string }).id;
    };
    const patient = await created({ resourceType: 'Patient', name: [{ family: 'Quill' }] });
    const observation = await created({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'glucose' },
      subject: { reference: `Patient/${patient}` },
    });
    const differ: string[] = [];
    for (const { method, path } of routes) {
      if (method === 'OPTIONS' || !/:id|:patient|\/patient-rights\//.test(path)) continue;
      for (const name of ['member', 'patient'] as const) {
        const answers: string[] = [];
        for (const [p, o] of [
          [patient, observation],
          ['made-up-patient', 'made-up-observation'],
        ] as const) {
          let concrete = path.includes(':type')
            ? path.replace(':type', 'Observation').replace(':id', o).replace(':vid', '1')
            : path.replace(':id', p).replace(':patient', p);
          if (concrete.startsWith('/patient-rights/')) concrete += `?patient=${p}`;
          const { response, text } = await ask(method, concrete, IDENTITIES[name] ?? {}, '{}');
          answers.push(
            `${response.status} ${text
              .replaceAll(p, 'ID')
              .replaceAll(o, 'ID')
              .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T')}`,
          );
        }
        if (answers[0] !== answers[1])
          differ.push(`${method} ${path} as ${name}: ${answers.join(' | ').slice(0, 300)}`);
      }
    }
    expect(differ).toEqual([]);
  });

  it('answers a malformed body with a 4xx OperationOutcome for every identity, never a 5xx', async () => {
    const failed: string[] = [];
    for (const { method, path } of routes) {
      if (method === 'GET' || method === 'OPTIONS' || method === 'HEAD') continue;
      for (const [name, headers] of Object.entries(IDENTITIES)) {
        for (const body of ['not json', '{"resourceType":"Patient","a":[1,{"b":null}]}', '[]', 'null']) {
          const { response, text } = await ask(method, path, headers, body);
          if (response.status >= 500) failed.push(`${method} ${path} as ${name}: ${response.status} ${text}`);
          else if (response.status >= 400 && !OWN_FORMAT.test(path) && !text.includes('"OperationOutcome"'))
            failed.push(`${method} ${path} as ${name}: ${response.status} without an OperationOutcome`);
        }
      }
    }
    expect(failed).toEqual([]);
  });
});
