/**
 * Issue 14 item 5: another member, or a patient, asking about one record or patient it may not see
 * does the same work as asking about one that does not exist: the same storage queries, the same rows
 * (but the probe's one metadata row, which holds identifiers and no content), no decryption, the same
 * ledger-index and consent questions, the same log entries, and the same answer (404). The work is
 * counted through real parts (SQLite, VaultCrypto, the transparency log) wrapped to count; no timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { Hono } from 'hono';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy, MemoryBreakGlassStore } from '../../src/access/index.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { createSignerKey, TransparencyLog } from '../../src/log/index.js';
import { createPatientRightsRoutes } from '../../src/patient-rights/patient-rights-routes.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import { createSqliteCommitApplier } from '../../src/storage/sqlite/sqlite-commit-applier.js';
import { createSqliteKeyStore, keyStoreMigrations } from '../../src/storage/sqlite/sqlite-key-store.js';
import { logMigrations, SqliteLogStorage } from '../../src/storage/sqlite/sqlite-log-storage.js';
import { recordMigrations, SqliteRecordStorage } from '../../src/storage/sqlite/sqlite-record-storage.js';
import { FhirRepository } from '../../src/vault/fhir-repository.js';
import { createLocalKeystore, MIN_SCRYPT_COST } from '../../src/vault/local-keystore-key-provider.js';
import { VaultCrypto } from '../../src/vault/vault-crypto.js';
import { createEnrolledPatient } from '../support/enrol-patient-key.js';
import { GrantList } from '../support/grant-list.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const LAB = '0x00000000000000000000000000000000000000bB' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const lab: AccessContext = { who: `Organization/${LAB}`, purpose: 'TREAT', member: LAB };
const annKey = privateKeyToAccount(generatePrivateKey());
const benKey = privateKeyToAccount(generatePrivateKey());

/** Calls per method name; rows returned per method name (an array's length, 1 for a row, 0 for none). */
type Tally = Record<string, number>;

interface Counter {
  readonly calls: Tally;
  readonly rows: Tally;
}

const counters = { storage: newCounter(), crypto: newCounter(), log: newCounter(), consent: newCounter() };

function newCounter(): Counter {
  return { calls: {}, rows: {} };
}

function rowsOf(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  return value === undefined || value === null ? 0 : 1;
}

/** The real object, every method call counted (with the rows it returned) before it is answered. */
function counting<T extends object>(target: T, counter: Counter): T {
  return new Proxy(target, {
    get(object, property) {
      const member = Reflect.get(object, property, object) as unknown;
      if (typeof member !== 'function') return member;
      const name = String(property);
      return (...args: unknown[]) => {
        counter.calls[name] = (counter.calls[name] ?? 0) + 1;
        const result = (member as (...a: unknown[]) => unknown).apply(object, args);
        const note = (value: unknown) => {
          counter.rows[name] = (counter.rows[name] ?? 0) + rowsOf(value);
          return value;
        };
        return result instanceof Promise ? result.then(note) : note(result);
      };
    },
  });
}

let dir: string;
let db: SqliteDatabase;
let repo: FhirRepository;
const grants = new GrantList();
let annId: string;
let annObservation: string;
let benId: string;
let benObservation: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-constant-work-'));
  db = openDatabase(join(dir, 'node.db'), [...logMigrations, ...keyStoreMigrations, ...recordMigrations]);
  const provider = await createLocalKeystore(join(dir, 'keystore.json'), 'test passphrase', {
    scryptCost: MIN_SCRYPT_COST,
  });
  const crypto = await VaultCrypto.create({
    keyProvider: provider,
    dataKeys: await createSqliteKeyStore(db, provider),
  });
  const breakGlass = new MemoryBreakGlassStore();
  const log = await TransparencyLog.open({
    storage: new SqliteLogStorage(db, { applyCommitGroup: createSqliteCommitApplier(db, { breakGlass }) }),
    signerKey: createSignerKey('test.example/log').signerKey,
  });
  const now = () => new Date('2026-12-07T08:00:00Z');
  repo = new FhirRepository({
    storage: counting(new SqliteRecordStorage(db), counters.storage),
    crypto: counting(crypto, counters.crypto),
    log: counting(log, counters.log),
    observer: { display: 'Riverside General Hospital', origin: 'test.example/log' },
    now,
    breakGlass,
    policy: new AccessPolicy({
      consent: counting({ decide: grants.decide }, counters.consent).decide,
      grantingPatients: counting({ granting: grants.granting }, counters.consent).granting,
      nodeAddress: HOSPITAL,
      breakGlass,
      now,
    }),
  });
  const patient = (family: string): Resource => ({ resourceType: 'Patient', name: [{ family }] });
  annId = await createEnrolledPatient(repo, patient('Ann'), annKey);
  benId = await createEnrolledPatient(repo, patient('Ben'), benKey);
  const observation = (patientId: string): Resource =>
    ({
      resourceType: 'Observation',
      status: 'final',
      category: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
          ],
        },
      ],
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
      subject: { reference: `Patient/${patientId}` },
    }) as Resource;
  annObservation = (await repo.create(observation(annId), clinician)).id as string;
  benObservation = (await repo.create(observation(benId), clinician)).id as string;
  // Ben granted the lab his laboratory results; Ann granted it nothing.
  grants.add({ patient: benKey.address, grantee: LAB, categories: ['laboratory'], purposes: ['TREAT'] });
}, 60_000);

afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Work {
  readonly answer: string;
  readonly storage: Counter;
  readonly crypto: Counter;
  readonly log: Counter;
  readonly consent: Counter;
}

/** Runs one request with fresh counters and returns its answer and the work it did. */
async function workOf(task: () => Promise<unknown>): Promise<Work> {
  for (const counter of Object.values(counters)) {
    for (const tally of [counter.calls, counter.rows])
      for (const key of Object.keys(tally)) delete tally[key];
  }
  const answer = await task().then(
    () => 'served',
    (e: { code?: string }) => String(e.code),
  );
  return structuredClone({ answer, ...counters });
}

/**
 * The work to compare: all of it, less the rows the one metadata probe returned (the row itself,
 * identifiers only) and the keyed hashes of the denial AuditEvent's own index rows (a denial that
 * names a patient indexes that reference too, so the patient finds it in their history).
 */
function comparable(work: Work, probe: string): Work {
  const rows = { ...work.storage.rows, [probe]: 0 };
  // keyedHashHex is the same HMAC written straight to hex (what blind-index rows use since dec9953).
  const { keyedHash: _calls, keyedHashHex: _hexCalls, ...cryptoCalls } = work.crypto.calls;
  const { keyedHash: _rows, keyedHashHex: _hexRows, ...cryptoRows } = work.crypto.rows;
  return {
    ...work,
    storage: { calls: work.storage.calls, rows },
    crypto: { calls: cryptoCalls, rows: cryptoRows },
  };
}

const patientBen: AccessContext = { who: `Patient/${'placeholder'}`, purpose: 'PATRQT' };

describe('a request about what the requester may not see costs what one about nothing costs', () => {
  const requests: [
    string,
    (who: AccessContext, target: { patient: string; observation: string }) => Promise<unknown>,
    string,
  ][] = [
    ['read', (who, t) => repo.read('Observation', t.observation, who), 'current'],
    ['vread', (who, t) => repo.vread('Observation', t.observation, 1, who), 'version'],
    ['history', (who, t) => repo.history('Observation', t.observation, who), 'current'],
    ['read Patient', (who, t) => repo.read('Patient', t.patient, who), 'current'],
    ['$everything', (who, t) => repo.everything(t.patient, who, ['Patient', 'Observation']), 'current'],
  ];

  for (const [name, run, probe] of requests) {
    it(`${name}: another member with no grant from that patient`, async () => {
      const seen = await workOf(() => run(lab, { patient: annId, observation: annObservation }));
      const made = await workOf(() =>
        run(lab, { patient: 'no-such-patient', observation: 'no-such-observation' }),
      );
      expect(seen.answer).toBe('ERR_NOT_FOUND');
      expect(made.answer).toBe('ERR_NOT_FOUND');
      expect(seen.crypto.calls.decrypt ?? 0).toBe(0);
      expect(seen.crypto.calls.erasedAt ?? 0).toBe(0);
      expect(comparable(seen, probe)).toEqual(comparable(made, probe));
      expect(seen.log.calls).toEqual({ appendAll: 1 });
    });

    it(`${name}: a patient outside their own compartment`, async () => {
      const ben = { ...patientBen, who: `Patient/${benId}` };
      const seen = await workOf(() => run(ben, { patient: annId, observation: annObservation }));
      const made = await workOf(() =>
        run(ben, { patient: 'no-such-patient', observation: 'no-such-observation' }),
      );
      expect(seen.answer).toBe('ERR_NOT_FOUND');
      expect(made.answer).toBe('ERR_NOT_FOUND');
      expect(comparable(seen, probe)).toEqual(comparable(made, probe));
    });
  }

  it('Patient/$identify: another member with no grant naming a patient’s ledger address', async () => {
    const stranger = privateKeyToAccount(generatePrivateKey()).address;
    const seen = await workOf(() => repo.identifyPatient(annKey.address, lab));
    const made = await workOf(() => repo.identifyPatient(stranger, lab));
    expect(seen.answer).toBe('ERR_CONSENT_DENIED');
    expect(made.answer).toBe('ERR_CONSENT_DENIED');
    expect(seen.crypto.calls.decrypt ?? 0).toBe(0);
    expect(comparable(seen, 'searchCandidates')).toEqual(comparable(made, 'searchCandidates'));
    expect(seen.log.calls).toEqual({ appendAll: 1 });
    // The refusal is still in Ann's own history.
    const trail = await repo.auditTrail(annId);
    expect(
      trail.some((r) => r.auditEvent.entity?.[0]?.what?.reference === `Patient/${annId}/$identify`),
    ).toBe(true);
  });

  it('unread messages (/patient-rights): another member naming a patient reads none of their audit trail', async () => {
    await repo.create(
      {
        resourceType: 'Communication',
        status: 'completed',
        subject: { reference: `Patient/${annId}` },
        sender: { reference: `Patient/${annId}` },
        payload: [{ contentString: 'about my results' }],
      } as Resource,
      clinician,
    );
    const app = new Hono();
    app.route(
      '/patient-rights',
      createPatientRightsRoutes({
        repository: repo,
        authenticate: async () => lab,
        organization: 'Riverside General Hospital',
        nameOf: async () => undefined,
      }),
    );
    const unread = (patient: string) => async () => {
      const response = await app.request(`/patient-rights/messages/unread?patient=${patient}`);
      expect(await response.json()).toEqual({ unread: 0, ids: [] });
    };
    const seen = await workOf(unread(annId));
    const made = await workOf(unread('no-such-patient'));
    expect(seen.crypto.calls.decrypt ?? 0).toBe(0);
    expect(seen.storage.calls.auditTrail ?? 0).toBe(0);
    expect(comparable(seen, 'current')).toEqual(comparable(made, 'current'));
  });

  it('still serves what the grant covers, and leaves the refusal in the patient’s own history', async () => {
    const served = await workOf(() => repo.read('Observation', benObservation, lab));
    expect(served.answer).toBe('served');
    const trail = await repo.auditTrail(annId);
    const denials = trail
      .filter((r) => r.auditEvent.outcome === '4')
      .map((r) => r.auditEvent.subtype?.[0]?.code);
    expect(denials).toEqual(expect.arrayContaining(['read', 'vread', 'history-instance', 'operation']));
  });
});
