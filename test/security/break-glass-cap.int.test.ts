/**
 * Issue 14 item 4: the node's break-glass policy (window length, openings per clinician in a rolling
 * window) is enforced by the vault's break-glass service, so every path that declares (the route, a
 * batch entry dispatched to it, any caller of the repository) is capped alike, and the count lives in
 * the node's SQLite store: a restart or another worker process on the same database sees it.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessPolicy, type BreakGlassPolicy } from '../../src/access/index.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { createSignerKey, TransparencyLog } from '../../src/log/index.js';
import { parseScopes } from '../../src/smart/index.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  breakGlassMigrations,
  SqliteBreakGlassStore,
} from '../../src/storage/sqlite/sqlite-break-glass-store.js';
import { createSqliteCommitApplier } from '../../src/storage/sqlite/sqlite-commit-applier.js';
import { createSqliteKeyStore, keyStoreMigrations } from '../../src/storage/sqlite/sqlite-key-store.js';
import { logMigrations, SqliteLogStorage } from '../../src/storage/sqlite/sqlite-log-storage.js';
import { recordMigrations, SqliteRecordStorage } from '../../src/storage/sqlite/sqlite-record-storage.js';
import { FhirRepository } from '../../src/vault/fhir-repository.js';
import {
  createLocalKeystore,
  MIN_SCRYPT_COST,
  openLocalKeystore,
} from '../../src/vault/local-keystore-key-provider.js';
import { VaultCrypto } from '../../src/vault/vault-crypto.js';
import { GrantList } from '../support/grant-list.js';

const NODE = '0x00000000000000000000000000000000000000Aa' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const emergency: AccessContext = { ...clinician, purpose: 'ETREAT' };
const colleague: AccessContext = { who: 'Practitioner/dr-2', purpose: 'ETREAT', roles: ['clinician'] };
const REASON = 'unconscious in the ED, allergies unknown';

interface Vault {
  readonly repo: FhirRepository;
  readonly db: SqliteDatabase;
  readonly clock: { now: Date };
}

const dirs: string[] = [];
const opened: SqliteDatabase[] = [];

afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-bg-cap-'));
  dirs.push(dir);
  return dir;
}

function openNodeDb(dir: string): SqliteDatabase {
  const db = openDatabase(join(dir, 'node.db'), [
    ...logMigrations,
    ...keyStoreMigrations,
    ...recordMigrations,
    ...breakGlassMigrations,
  ]);
  opened.push(db);
  return db;
}

/** A vault on the folder's database, with break-glass sessions in its SQLite table (as a node has). */
async function openVault(dir: string, policy: Partial<BreakGlassPolicy>, at: string): Promise<Vault> {
  const db = openNodeDb(dir);
  const keystore = join(dir, 'keystore.json');
  const provider = existsSync(keystore)
    ? await openLocalKeystore(keystore, 'test passphrase')
    : await createLocalKeystore(keystore, 'test passphrase', { scryptCost: MIN_SCRYPT_COST });
  const crypto = await VaultCrypto.create({
    keyProvider: provider,
    dataKeys: await createSqliteKeyStore(db, provider),
  });
  const breakGlass = new SqliteBreakGlassStore(db);
  const log = await TransparencyLog.open({
    storage: new SqliteLogStorage(db, { applyCommitGroup: createSqliteCommitApplier(db, { breakGlass }) }),
    signerKey: createSignerKey('test.example/log').signerKey,
  });
  const grants = new GrantList();
  const clock = { now: new Date(at) };
  const now = () => clock.now;
  const repo = new FhirRepository({
    storage: new SqliteRecordStorage(db),
    crypto,
    log,
    observer: { display: 'Riverside General Hospital', origin: 'test.example/log' },
    now,
    breakGlass,
    breakGlassPolicy: policy,
    policy: new AccessPolicy({
      consent: grants.decide,
      grantingPatients: grants.granting,
      nodeAddress: NODE,
      breakGlass,
      now,
    }),
  });
  return { repo, db, clock };
}

async function newPatient(vault: Vault, family: string): Promise<string> {
  return (await vault.repo.create({ resourceType: 'Patient', name: [{ family }] }, clinician)).id as string;
}

async function failure(
  task: Promise<unknown>,
): Promise<{ code?: string; message?: string; details?: Record<string, unknown> }> {
  return task.then(
    () => ({ code: 'none' }),
    (e: { code?: string; message?: string; details?: Record<string, unknown> }) => e,
  );
}

describe('break-glass window length, enforced by the service', () => {
  it("refuses a window longer than the node's policy from any caller, naming the limit", async () => {
    const vault = await openVault(newDir(), { maxMinutes: 60 }, '2026-12-07T08:00:00Z');
    const patientId = await newPatient(vault, 'Ann');
    const refused = await failure(vault.repo.declareBreakGlass(patientId, REASON, emergency, 1440));
    expect(refused.code).toBe('ERR_INVALID_INPUT');
    expect(refused.message).toContain('1 to 60 minutes');
    expect(refused.details).toMatchObject({ parameter: 'minutes', maxMinutes: 60 });
    const session = await vault.repo.declareBreakGlass(patientId, REASON, emergency, 60);
    expect(Date.parse(session.expiresAt) - Date.parse(session.startedAt)).toBe(60 * 60_000);
  });

  it('gives a declaration without minutes the shorter of 60 minutes and the policy', async () => {
    const vault = await openVault(newDir(), { maxMinutes: 15 }, '2026-12-07T08:00:00Z');
    const patientId = await newPatient(vault, 'Ann');
    const session = await vault.repo.declareBreakGlass(patientId, REASON, emergency);
    expect(Date.parse(session.expiresAt) - Date.parse(session.startedAt)).toBe(15 * 60_000);
  });
});

describe('break-glass openings per clinician', () => {
  const policy = { maxOpenings: 3, openingsWindowMinutes: 60 };

  it('refuses the opening past the cap with 429, when to retry, and an audited denial', async () => {
    const vault = await openVault(newDir(), policy, '2026-12-07T08:00:00Z');
    const patients = [];
    for (const name of ['Ann', 'Ben', 'Cy', 'Di']) patients.push(await newPatient(vault, name));
    for (const [i, patientId] of patients.slice(0, 3).entries()) {
      vault.clock.now = new Date(Date.parse('2026-12-07T08:00:00Z') + i * 10 * 60_000);
      await vault.repo.declareBreakGlass(patientId, REASON, emergency, 5);
    }
    vault.clock.now = new Date('2026-12-07T08:30:00Z');
    const fourth = patients[3] as string;
    const refused = await failure(vault.repo.declareBreakGlass(fourth, REASON, emergency, 5));
    expect(refused.code).toBe('ERR_RATE_LIMITED');
    // The first opening (08:00) leaves the 60-minute window at 09:00: 30 minutes from now.
    expect(refused.details).toMatchObject({ maxOpenings: 3, openingsWindowMinutes: 60, retryAfter: 1800 });
    const trail = await vault.repo.auditTrail(fourth);
    const denial = trail.find((r) => r.auditEvent.outcome === '4')?.auditEvent;
    expect(denial?.outcomeDesc).toContain('break-glass opened 3 times in 60 minutes');
    // The refused opening grants nothing and is nobody's session to review.
    vault.clock.now = new Date('2026-12-07T10:00:00Z');
    const officer = { who: 'Practitioner/po-1', purpose: 'HOPERAT', roles: ['privacy-officer'] };
    expect((await vault.repo.listBreakGlass(officer, {})).map((s) => s.patientId).sort()).toEqual(
      patients.slice(0, 3).sort(),
    );
    // Another clinician has openings of their own; and once the window has passed, so does dr-1.
    await vault.repo.declareBreakGlass(fourth, REASON, colleague, 5);
    await vault.repo.declareBreakGlass(fourth, REASON, emergency, 5);
  });

  it('counts openings in the database: a restart does not reset them', async () => {
    const dir = newDir();
    const first = await openVault(dir, policy, '2026-12-07T08:00:00Z');
    const patientId = await newPatient(first, 'Ann');
    for (let i = 0; i < 3; i += 1) await first.repo.declareBreakGlass(patientId, REASON, emergency, 5);
    first.db.close();
    opened.splice(opened.indexOf(first.db), 1);
    const restarted = await openVault(dir, policy, '2026-12-07T08:20:00Z');
    expect((await failure(restarted.repo.declareBreakGlass(patientId, REASON, emergency, 5))).code).toBe(
      'ERR_RATE_LIMITED',
    );
  });

  it('holds across processes sharing the database: reservations on other connections count', async () => {
    const dir = newDir();
    const primary = await openVault(dir, policy, '2026-12-07T08:00:00Z');
    const patientId = await newPatient(primary, 'Ann');
    // Two worker processes' connections to the same node.db, reserving for the same clinician.
    const workers = [new SqliteBreakGlassStore(openNodeDb(dir)), new SqliteBreakGlassStore(openNodeDb(dir))];
    const limit = { max: 3, since: '2026-12-07T07:00:00.001Z' };
    const answers = [];
    for (let i = 0; i < 4; i += 1) {
      const store = workers[i % 2] as SqliteBreakGlassStore;
      answers.push(
        (
          await store.reserve(
            { id: `r${i}`, who: emergency.who, patientId, startedAt: '2026-12-07T07:30:00.000Z' },
            limit,
          )
        ).reserved,
      );
    }
    expect(answers).toEqual([true, true, true, false]);
    // The vault's own declaration sees them too, though no session was committed through its log.
    expect((await failure(primary.repo.declareBreakGlass(patientId, REASON, emergency, 5))).code).toBe(
      'ERR_RATE_LIMITED',
    );
    // A reservation grants nothing, and given back (its declaration did not commit) frees its place.
    expect(await workers[0]?.active(emergency.who, patientId, '2026-12-07T07:30:00.000Z')).toBeUndefined();
    expect(await workers[0]?.get('r0')).toBeUndefined();
    await workers[1]?.release('r0');
    await primary.repo.declareBreakGlass(patientId, REASON, emergency, 5);
  });
});

describe('break-glass through a SMART app token', () => {
  it('refuses a token launched for another patient, and one without read access to the patient', async () => {
    const vault = await openVault(newDir(), {}, '2026-12-07T08:00:00Z');
    const ann = await newPatient(vault, 'Ann');
    const ben = await newPatient(vault, 'Ben');
    const launchedForAnn = {
      ...emergency,
      scopes: parseScopes('patient/*.rs launch/patient'),
      launchPatient: ann,
    };
    const refused = await failure(vault.repo.declareBreakGlass(ben, REASON, launchedForAnn, 5));
    expect(refused.code).toBe('ERR_FORBIDDEN');
    expect(refused.message).toContain('insufficient scope');
    const writeOnly = { ...emergency, scopes: parseScopes('user/Observation.c') };
    expect((await failure(vault.repo.declareBreakGlass(ben, REASON, writeOnly, 5))).code).toBe(
      'ERR_FORBIDDEN',
    );
    await vault.repo.declareBreakGlass(ann, REASON, launchedForAnn, 5);
    await vault.repo.declareBreakGlass(ben, REASON, { ...emergency, scopes: parseScopes('user/*.rs') }, 5);
  });
});
