/**
 * Issue 14, review of the new surfaces: acts that open more than one FHIR interaction are bounded by the
 * token's SMART scopes like the FHIR API is. A SMART app the patient launched for some resource types
 * (`patient/Observation.rs`) must not create a telehealth share wider than that (its reader sees every
 * record of the shared categories), nor fetch or replace the patient's consent keystore (the key behind
 * every grant). The portal's own session (`patient/*.cruds`) and a token without scopes do as before.
 * Real SQLite stores, a real vault, in-process HTTP; the request's identity is what a verified token gives.
 */
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { Hono } from 'hono';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { SignInThrottle } from '../../src/auth/sign-in-throttle.js';
import { toErrorResponse } from '../../src/http/error-response.js';
import { createAccountRoutes } from '../../src/http/routes/account-routes.js';
import { createPatientKey, createPatientKeystore, MIN_PATIENT_KEYSTORE_N } from '../../src/identity/index.js';
import { createShareRoutes } from '../../src/share/share-routes.js';
import { ShareService } from '../../src/share/share-service.js';
import { SqliteShareStore, shareMigrations } from '../../src/share/share-store.js';
import { parseScopes } from '../../src/smart/index.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import { authMigrations, SqliteAuthStore } from '../../src/storage/sqlite/sqlite-auth-store.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

let vault: TestVault;
let db: SqliteDatabase;
let app: Hono;
let caller: AccessContext;
let patientId: string;
const key = createPatientKey();

/** The patient's identity as a verified access token of `scope` gives it. */
function token(scope: string): AccessContext {
  return {
    who: `Patient/${patientId}`,
    purpose: 'TREAT',
    scopes: parseScopes(scope),
    launchPatient: patientId,
    clientId: 'some-app',
  };
}

async function call(path: string, init: { method?: string; body?: unknown } = {}) {
  return app.request(path, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

const share = (categories: string[]) =>
  call('/shares', {
    method: 'POST',
    body: { categories, hours: 2, purposeText: 'second opinion', recipient: 'Dr Ana Sousa' },
  });

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  db = openDatabase(join(vault.dir, 'account.db'), [...authMigrations, ...shareMigrations]);
  const auth = new SqliteAuthStore(db);
  patientId = (
    await vault.repo.create(
      { resourceType: 'Patient', name: [{ given: ['Ann'], family: 'Lee' }] } as Resource,
      clinician,
    )
  ).id as string;
  const keystore = await createPatientKeystore(key.privateKey, 'a long passphrase', {
    n: MIN_PATIENT_KEYSTORE_N,
  });
  await auth.insertUser({
    id: 'u-ann',
    username: 'ann',
    passwordHash: 'unused',
    fhirUser: `Patient/${patientId}`,
    roles: [],
    ledgerAddress: key.address,
    keystore: JSON.stringify(keystore),
    createdAt: '2026-12-07T00:00:00Z',
    disabled: false,
  });
  app = new Hono();
  app.onError((error, c) => {
    const { status, body } = toErrorResponse(error);
    return c.json(body, status as 400);
  });
  const authenticate = async () => caller;
  app.route('/', createAccountRoutes({ store: auth, authenticate }));
  app.route(
    '/',
    createShareRoutes({
      service: new ShareService({
        store: new SqliteShareStore(db),
        throttle: new SignInThrottle({ store: auth, now: () => vault.clock.now.getTime() }),
        now: () => vault.clock.now,
      }),
      repository: vault.repo,
      authenticate,
      organization: 'Riverside General Hospital',
      signer: privateKeyToAccount(`0x${'11'.repeat(32)}`),
      now: () => vault.clock.now,
    }),
  );
});

afterAll(() => {
  db?.close();
  vault?.close();
});

describe('acts wider than one FHIR interaction are bounded by the token’s scopes', () => {
  it('refuses a share wider than the app’s scopes, and takes one the scopes cover', async () => {
    caller = token('launch/patient patient/Observation.rs');
    const wide = await share(['demographics', 'conditions', 'hiv']);
    expect(wide.status).toBe(403);
    const outcome = (await wide.json()) as { issue: { diagnostics: string }[] };
    expect(outcome.issue[0]?.diagnostics).toMatch(/insufficient scope: a telehealth share needs/);

    caller = token('launch/patient patient/*.rs?category=laboratory');
    expect((await share(['laboratory'])).status).toBe(403);

    caller = token('openid fhirUser launch/patient patient/*.cruds');
    expect((await share(['demographics', 'conditions', 'hiv'])).status).toBe(201);
    caller = { who: `Patient/${patientId}`, purpose: 'TREAT' };
    expect((await share(['laboratory'])).status).toBe(201);
  });

  it('gives the consent keystore only to a token over the whole record', async () => {
    caller = token('launch/patient patient/Observation.rs patient/Patient.rs');
    const fetched = await call('/patient/keystore');
    expect(fetched.status).toBe(403);
    expect(JSON.stringify(await fetched.json())).not.toContain('crypto');

    caller = token('launch/patient patient/*.rs');
    const body = (await (await call('/patient/keystore')).json()) as { address: string };
    expect(body.address).toBe(key.address.slice(2).toLowerCase());
  });

  it('lets only a token that may write the whole record replace the keystore', async () => {
    const replacement = await createPatientKeystore(key.privateKey, 'another passphrase', {
      n: MIN_PATIENT_KEYSTORE_N,
    });
    caller = token('launch/patient patient/*.rs');
    expect((await call('/patient/keystore', { method: 'PUT', body: replacement })).status).toBe(403);
    caller = token('launch/patient patient/Observation.cruds');
    expect((await call('/patient/keystore', { method: 'PUT', body: replacement })).status).toBe(403);
    caller = token('openid fhirUser launch/patient patient/*.cruds');
    expect((await call('/patient/keystore', { method: 'PUT', body: replacement })).status).toBe(204);
  });
});
