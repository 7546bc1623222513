/**
 * Telehealth share over a real vault (SQLite, envelope encryption, transparency log), in-process HTTP:
 * a patient shares laboratory results and demographics for some hours; the outside clinician opens the
 * link with the one-time code, reads only the shared categories (a category not shared is refused and
 * audited), gets a signed IPS that verifies without the chain, and loses access on revoke and expiry.
 * Code guesses are throttled like sign-in second factors.
 */
import { join } from 'node:path';
import type { AuditEvent, Bundle, Resource } from '@medplum/fhirtypes';
import { Hono } from 'hono';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestVault, type TestVault } from '../../test/support/open-test-vault.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { SignInThrottle } from '../auth/sign-in-throttle.js';
import { verifyDocumentSignature } from '../fhir/ips/index.js';
import { toErrorResponse } from '../http/error-response.js';
import { openDatabase, type SqliteDatabase } from '../storage/sqlite/open-database.js';
import { authMigrations, SqliteAuthStore } from '../storage/sqlite/sqlite-auth-store.js';
import { createShareRoutes } from './share-routes.js';
import { SHARE_AGENT_PREFIX, ShareService, shareAgentName } from './share-service.js';
import { SqliteShareStore, shareMigrations } from './share-store.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const member = privateKeyToAccount(`0x${'11'.repeat(32)}`);
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

let vault: TestVault;
let db: SqliteDatabase;
let app: Hono;
let annId: string;
let ann: AccessContext;
let caller: AccessContext;
let counter = 0;

async function call(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  return app.request(path, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

async function createShare(categories: string[], hours = 4) {
  caller = ann;
  const res = await call('/shares', {
    method: 'POST',
    body: { categories, hours, purposeText: 'second opinion in Lisbon', recipient: 'Dr Ana Sousa' },
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { share: { id: string }; link: string; code: string };
  const [id, link] = body.link.split('#/shared/')[1]?.split('/') ?? [];
  return { id: id as string, link: link as string, code: body.code };
}

async function open(s: { id: string; link: string; code: string }) {
  const res = await call(`/shared/${s.id}/open`, { method: 'POST', body: { link: s.link, code: s.code } });
  expect(res.status).toBe(200);
  const { session } = (await res.json()) as { session: string };
  return { 'x-share-link': s.link, 'x-share-session': session };
}

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  db = openDatabase(join(vault.dir, 'share.db'), [...authMigrations, ...shareMigrations]);
  const now = () => vault.clock.now;
  const service = new ShareService({
    store: new SqliteShareStore(db),
    throttle: new SignInThrottle({ store: new SqliteAuthStore(db), now: () => now().getTime() }),
    now,
    // Deterministic and distinct: each call gives new bytes.
    randomBytes: (n) =>
      Uint8Array.from({ length: n }, (_, i) => (counter * 31 + i * 7 + 3) % 256).map((b) => b ^ counter++),
  });
  app = new Hono();
  app.onError((error, c) => {
    const { status, body } = toErrorResponse(error);
    return c.json(body, status as 400);
  });
  app.route(
    '/',
    createShareRoutes({
      service,
      repository: vault.repo,
      authenticate: async () => caller,
      organization: 'Riverside General Hospital',
      signer: member,
      now,
    }),
  );
  const create = async (r: Resource) => (await vault.repo.create(r, clinician)).id as string;
  annId = await create({
    resourceType: 'Patient',
    name: [{ given: ['Ann'], family: 'Lee' }],
    birthDate: '1980-02-03',
  });
  ann = { who: `Patient/${annId}`, purpose: 'PATRQT' };
  const subject = { reference: `Patient/${annId}` };
  await create({
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
    effectiveDateTime: '2026-11-01T09:00:00Z',
    valueQuantity: { value: 5.4, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    subject,
  } as Resource);
  await create({
    resourceType: 'Condition',
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: {
      coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes mellitus type 2' }],
    },
    subject,
  } as Resource);
});

afterAll(() => {
  db?.close();
  vault?.close();
});

describe('telehealth share', () => {
  it('is created by the patient only, and listed without its secrets', async () => {
    caller = clinician;
    const refused = await call('/shares', {
      method: 'POST',
      body: { categories: ['laboratory'], hours: 2, purposeText: 'second opinion', recipient: 'Dr X' },
    });
    expect(refused.status).toBe(403);
    caller = ann;
    const bad = await call('/shares', {
      method: 'POST',
      body: { categories: [], hours: 500, purposeText: '', recipient: '' },
    });
    expect(bad.status).toBe(400);
    const s = await createShare(['laboratory']);
    expect(s.code).toMatch(/^[A-Z2-9]{10}$/);
    const list = JSON.stringify(await (await call('/shares')).json());
    expect(list).toContain(s.id);
    expect(list).not.toContain(s.code);
    expect(list).not.toContain(s.link);
    expect(list).not.toMatch(/Hash/);
  });

  it('opens once with the code; a wrong code or a wrong link is refused', async () => {
    const s = await createShare(['laboratory']);
    const wrong = await call(`/shared/${s.id}/open`, {
      method: 'POST',
      body: { link: s.link, code: 'AAAAAAAAAA' },
    });
    expect(wrong.status).toBe(401);
    const badLink = await call(`/shared/${s.id}/open`, {
      method: 'POST',
      body: { link: 'nope', code: s.code },
    });
    expect(badLink.status).toBe(410);
    await open(s);
    const again = await call(`/shared/${s.id}/open`, {
      method: 'POST',
      body: { link: s.link, code: s.code },
    });
    expect(again.status).toBe(401);
  });

  it('shows only the shared categories; a category not shared is refused and audited', async () => {
    const s = await createShare(['laboratory', 'demographics']);
    const headers = await open(s);
    const records = (await (await call(`/shared/${s.id}/records`, { headers })).json()) as Bundle;
    const types = (records.entry ?? []).map((e) => e.resource?.resourceType).sort();
    expect(types).toEqual(['Observation', 'Patient']);
    const refused = await call(`/shared/${s.id}/records?category=conditions`, { headers });
    expect(refused.status).toBe(403);
    const labs = (await (
      await call(`/shared/${s.id}/records?category=laboratory`, { headers })
    ).json()) as Bundle;
    expect(labs.entry?.map((e) => e.resource?.resourceType)).toEqual(['Observation']);
    const noSession = await call(`/shared/${s.id}/records`, { headers: { 'x-share-link': s.link } });
    expect(noSession.status).toBe(401);

    const trail = await vault.repo.auditTrail(annId);
    const viaShare = trail
      .map((r) => r.auditEvent as AuditEvent)
      .filter((e) => e.agent?.some((a) => a.who?.reference === `${SHARE_AGENT_PREFIX}${s.id}`));
    expect(viaShare.filter((e) => e.outcome === '0').length).toBeGreaterThanOrEqual(2);
    expect(viaShare.some((e) => e.outcome === '4' && /conditions/.test(e.outcomeDesc ?? ''))).toBe(true);
    expect(trail.every((r) => r.logIndex >= 0)).toBe(true);
    expect(shareAgentName(`${SHARE_AGENT_PREFIX}${s.id}`)).toBe(`external clinician via share ${s.id}`);
  });

  it('serves the IPS signed by the member, verifiable with the well-known address alone', async () => {
    const s = await createShare(['laboratory', 'demographics', 'conditions']);
    const headers = await open(s);
    const res = await call(`/shared/${s.id}/summary`, { headers });
    expect(res.status).toBe(200);
    const bundle = (await res.json()) as Bundle;
    const signer = (await (await call('/.well-known/careledger-document-signer')).json()) as {
      address: string;
    };
    const verified = await verifyDocumentSignature(bundle, { expectedSigner: signer.address });
    expect(verified.signer.toLowerCase()).toBe(member.address.toLowerCase());
    const tampered = { ...bundle, timestamp: '2020-01-01T00:00:00Z' };
    await expect(verifyDocumentSignature(tampered)).rejects.toThrow();

    const noDemographics = await createShare(['laboratory']);
    const h2 = await open(noDemographics);
    expect((await call(`/shared/${noDemographics.id}/summary`, { headers: h2 })).status).toBe(403);
  });

  it('ends on revoke and on expiry', async () => {
    const s = await createShare(['laboratory'], 1);
    const headers = await open(s);
    expect((await call(`/shared/${s.id}/records`, { headers })).status).toBe(200);
    caller = ann;
    expect((await call(`/shares/${s.id}/revoke`, { method: 'POST' })).status).toBe(200);
    expect((await call(`/shared/${s.id}/records`, { headers })).status).toBe(410);

    const t = await createShare(['laboratory'], 1);
    const h = await open(t);
    const start = vault.clock.now;
    vault.clock.now = new Date(start.getTime() + 61 * 60_000);
    try {
      expect((await call(`/shared/${t.id}/records`, { headers: h })).status).toBe(410);
    } finally {
      vault.clock.now = start;
    }
  });

  it('throttles code guesses like a sign-in second factor', async () => {
    const s = await createShare(['laboratory']);
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await call(`/shared/${s.id}/open`, {
        method: 'POST',
        body: { link: s.link, code: `WRONG${i}` },
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses).toContain(429);
    // Even the right code waits while locked.
    const right = await call(`/shared/${s.id}/open`, {
      method: 'POST',
      body: { link: s.link, code: s.code },
    });
    expect(right.status).toBe(429);
  });
});
