/**
 * The FHIR vault over real parts: SQLite (WAL, full sync), the local keystore, per-patient keys, the
 * transparency log. Synthea resources go in; every version and every access leaves a log entry that a
 * patient can check; nothing readable is left in the database file; erasure answers 410.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bundle, Observation, Patient, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy, MemoryBreakGlassStore } from '../../src/access/index.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { canonicalJson } from '../../src/fhir/canonical-json.js';
import {
  createSignerKey,
  hashLeaf,
  parseSignedNote,
  TransparencyLog,
  verifyInclusionProof,
} from '../../src/log/index.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import { createSqliteCommitApplier } from '../../src/storage/sqlite/sqlite-commit-applier.js';
import { createSqliteKeyStore, keyStoreMigrations } from '../../src/storage/sqlite/sqlite-key-store.js';
import { logMigrations, SqliteLogStorage } from '../../src/storage/sqlite/sqlite-log-storage.js';
import { recordMigrations, SqliteRecordStorage } from '../../src/storage/sqlite/sqlite-record-storage.js';
import { FhirRepository, formatAuditEntry } from '../../src/vault/fhir-repository.js';
import { createLocalKeystore, MIN_SCRYPT_COST } from '../../src/vault/local-keystore-key-provider.js';
import { VaultCrypto } from '../../src/vault/vault-crypto.js';
import { GrantList } from '../support/grant-list.js';
import { SYNTHEA_DIR } from '../support/shared-data.js';

const SYNTHEA = join(SYNTHEA_DIR, 'Andy_Schaden_d630c6ca-046c-470a-8f3a-4dbc3850e7ae.json');
const MARKER = 'Zzyzxmarkerfamily';
const clinician: AccessContext = {
  who: 'Practitioner/dr-1',
  organization: 'Riverside General Hospital',
  purpose: 'TREAT',
};

const NODE_ADDRESS = '0x00000000000000000000000000000000000000aa';
const grants = new GrantList();
const breakGlass = new MemoryBreakGlassStore();

let dir: string;
let dbPath: string;
let db: SqliteDatabase;
let log: TransparencyLog;
let crypto: VaultCrypto;
let repo: FhirRepository;
let patient: Patient;
let observation: Observation;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-fhir-'));
  dbPath = join(dir, 'node.db');
  db = openDatabase(dbPath, [...logMigrations, ...keyStoreMigrations, ...recordMigrations]);
  const provider = await createLocalKeystore(join(dir, 'keystore.json'), 'test passphrase', {
    scryptCost: MIN_SCRYPT_COST,
  });
  crypto = await VaultCrypto.create({
    keyProvider: provider,
    dataKeys: await createSqliteKeyStore(db, provider),
  });
  log = await TransparencyLog.open({
    storage: new SqliteLogStorage(db, { applyCommitGroup: createSqliteCommitApplier(db, { breakGlass }) }),
    signerKey: createSignerKey('test.example/log').signerKey,
  });
  repo = new FhirRepository({
    storage: new SqliteRecordStorage(db),
    crypto,
    log,
    observer: { display: 'Riverside General Hospital', origin: 'test.example/log' },
    breakGlass,
    policy: new AccessPolicy({
      consent: grants.decide,
      nodeAddress: NODE_ADDRESS,
      breakGlass,
    }),
  });
  const bundle = JSON.parse(readFileSync(SYNTHEA, 'utf8')) as Bundle;
  const source = bundle.entry?.map((e) => e.resource).filter((r): r is Resource => r !== undefined) ?? [];
  const synthPatient = source.find((r) => r.resourceType === 'Patient') as Patient;
  const synthObservation = source.find((r) => r.resourceType === 'Observation') as Observation;
  const planted = { ...synthPatient, name: [{ family: MARKER, given: ['Andy'] }] };
  delete (planted as { id?: string }).id;
  patient = (await repo.create(planted, clinician)) as Patient;
  const { id: _unused, ...obs } = synthObservation;
  observation = (await repo.create(
    { ...obs, subject: { reference: `Patient/${patient.id}` } },
    clinician,
  )) as Observation;
}, 60_000);

afterAll(async () => {
  await log.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the FHIR vault', () => {
  it('stores validated resources with versions, and answers reads, vreads, updates and history', async () => {
    expect(patient.meta?.versionId).toBe('1');
    const read = (await repo.read('Patient', patient.id as string, clinician)) as Patient;
    expect(read.name?.[0]?.family).toBe(MARKER);

    const { resource: v2 } = await repo.update({ ...read, gender: 'male' }, clinician, { ifMatch: '1' });
    expect(v2.meta?.versionId).toBe('2');
    await expect(
      repo.update({ ...read, gender: 'female' }, clinician, { ifMatch: '1' }),
    ).rejects.toMatchObject({
      code: 'ERR_PRECONDITION_FAILED',
    });
    expect(
      ((await repo.vread('Patient', patient.id as string, 1, clinician)) as Patient).meta?.versionId,
    ).toBe('1');
    const history = await repo.history('Patient', patient.id as string, clinician);
    expect(history.map((h) => h.versionId)).toEqual([2, 1]);
  });

  it('refuses invalid FHIR with the issues, and stores nothing', async () => {
    const before = log.size;
    await expect(repo.create({ resourceType: 'Patient', gender: 'x' }, clinician)).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    expect(log.size).toBe(before);
  });

  it("logs each version's keyed hash and a salted commitment to each AuditEvent, provable to the patient", async () => {
    const trail = await repo.auditTrail(patient.id as string);
    const interactions = trail.map((r) => r.auditEvent.subtype?.[0]?.code);
    expect(interactions).toEqual(
      expect.arrayContaining(['create', 'read', 'update', 'vread', 'history-instance']),
    );
    await log.checkpoint();
    const size = log.size;
    const root = log.root();
    for (const record of trail) {
      const { id: _id, meta: _meta, ...event } = record.auditEvent;
      expect(event.entity?.some((e) => e.what?.reference === `Patient/${patient.id}`)).toBe(true);
      const entry = await log.readEntry(record.logIndex);
      expect(Buffer.from(entry).toString()).toBe(
        Buffer.from(formatAuditEntry(record.auditEvent, record.salt)).toString(),
      );
      const proof = await log.createInclusionProof(record.logIndex, size);
      verifyInclusionProof(hashLeaf(entry), record.logIndex, size, proof, root);
    }
    // The public log says nothing about whom an entry concerns.
    for (let i = 0; i < size; i += 1) {
      const text = Buffer.from(await log.readEntry(i)).toString();
      expect(text).not.toContain(patient.id as string);
      expect(text).not.toContain('Practitioner');
    }
    expect(parseSignedNote(log.latestCheckpoint() as string).text).toContain(`\n${size}\n`);
  });

  it('leaves no plaintext PHI in the database files', async () => {
    await log.flush();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const files = [
      readFileSync(dbPath),
      (() => {
        try {
          return readFileSync(`${dbPath}-wal`);
        } catch {
          return Buffer.alloc(0);
        }
      })(),
    ];
    for (const bytes of files) {
      expect(bytes.includes(Buffer.from(MARKER))).toBe(false);
      expect(bytes.includes(Buffer.from(canonicalJson(observation.code)))).toBe(false);
    }
  });

  it('commits concurrent writes with their audit entries, none without the other', async () => {
    const creates = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        repo.create(
          {
            resourceType: 'Observation',
            status: 'final',
            code: { text: `c${i}` },
            subject: { reference: `Patient/${patient.id}` },
          },
          clinician,
        ),
      ),
    );
    expect(new Set(creates.map((c) => c.id)).size).toBe(40);
    const rows = db
      .prepare("SELECT COUNT(*) AS n FROM vault_records WHERE resource_type != 'AuditEvent'")
      .get() as { n: number };
    const audits = db
      .prepare("SELECT COUNT(*) AS n FROM vault_records WHERE resource_type = 'AuditEvent'")
      .get() as { n: number };
    // Every log entry is either a version (one per record row) or an AuditEvent (one per audit row).
    expect(rows.n + audits.n).toBe(log.size);
  });

  it('searches through the blind index and the decrypted candidates, and audits the search', async () => {
    const byFamily = await repo.search(
      'Patient',
      new URLSearchParams({ family: MARKER.slice(0, 5) }),
      clinician,
      {
        handling: 'strict',
      },
    );
    expect(byFamily.resources.map((r) => r.id)).toEqual([patient.id]);
    const all = await repo.search(
      'Observation',
      new URLSearchParams({
        subject: `Patient/${patient.id}`,
        _total: 'accurate',
        _count: '5',
        _sort: '-_lastUpdated',
      }),
      clinician,
      { handling: 'strict' },
    );
    expect(all.total).toBe(41);
    expect(all.resources).toHaveLength(5);
    const coding = observation.code.coding?.[0];
    const byCode = await repo.search(
      'Observation',
      new URLSearchParams({ code: `${coding?.system}|${coding?.code}`, patient: patient.id as string }),
      clinician,
      { handling: 'strict' },
    );
    expect(byCode.resources.map((r) => r.id)).toContain(observation.id);
    expect(
      (
        await repo.search('Observation', new URLSearchParams({ code: 'no-such-code' }), clinician, {
          handling: 'strict',
        })
      ).resources,
    ).toEqual([]);
    const withPatient = await repo.search(
      'Observation',
      new URLSearchParams({ _id: observation.id as string, _include: 'Observation:subject' }),
      clinician,
      { handling: 'strict' },
    );
    expect(withPatient.resources.map((r) => r.id)).toEqual([observation.id]);
    expect(withPatient.included.map((r) => `${r.resourceType}/${r.id}`)).toEqual([`Patient/${patient.id}`]);
    const reverse = await repo.search(
      'Patient',
      new URLSearchParams({ _id: patient.id as string, _revinclude: 'Observation:subject' }),
      clinician,
      { handling: 'strict' },
    );
    expect(reverse.included.filter((r) => r.resourceType === 'Observation')).toHaveLength(41);
    await expect(
      repo.search('Observation', new URLSearchParams({ colour: 'blue' }), clinician, { handling: 'strict' }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT', details: { parameter: 'colour' } });
    const lenient = await repo.search('Observation', new URLSearchParams({ colour: 'blue' }), clinician, {
      handling: 'lenient',
    });
    expect(lenient.ignored).toEqual(['colour']);
    const trail = await repo.auditTrail(patient.id as string);
    expect(trail.map((r) => r.auditEvent.subtype?.[0]?.code)).toContain('search-type');
    const searches = trail.filter((r) => r.auditEvent.subtype?.[0]?.code === 'search-type');
    expect(searches.map((r) => r.auditEvent.entity?.[0]?.what?.reference)).toEqual(
      expect.arrayContaining([
        'Patient?family',
        'Observation?_count,_sort,_total,subject',
        'Observation?code,patient',
      ]),
    );
    const audits = await repo.search(
      'AuditEvent',
      new URLSearchParams({ patient: patient.id as string }),
      { ...clinician, who: 'Practitioner/po-1', roles: ['privacy-officer'] },
      {
        handling: 'strict',
      },
    );
    expect(audits.resources.length).toBeGreaterThan(0);
  });

  it('lets a patient read their own compartment only, answers the rest 404 (403 before admission), and records the refusals', async () => {
    const self: AccessContext = { who: `Patient/${patient.id}`, purpose: 'PATRQT' };
    const other = (await repo.create(
      { resourceType: 'Patient', name: [{ family: 'Other' }] },
      clinician,
    )) as Patient;
    const stranger: AccessContext = { who: `Patient/${other.id}`, purpose: 'PATRQT' };

    expect((await repo.read('Observation', observation.id as string, self)).id).toBe(observation.id);
    // Issue 14 item 5: another patient is not told the record exists.
    await expect(repo.read('Observation', observation.id as string, stranger)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    await expect(
      repo.create({ resourceType: 'Observation', status: 'final', code: { text: 'x' } }, self),
    ).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    await expect(
      repo.read('Patient', patient.id as string, { who: 'Organization/elsewhere', purpose: 'TREAT' }),
    ).rejects.toMatchObject({
      code: 'ERR_FORBIDDEN',
    });

    // A stranger's search neither returns nor counts this patient's records.
    const seen = await repo.search('Observation', new URLSearchParams({ _total: 'accurate' }), stranger, {
      handling: 'strict',
    });
    expect(seen.total).toBe(0);
    const own = await repo.search('Observation', new URLSearchParams({ _total: 'accurate' }), self, {
      handling: 'strict',
    });
    expect(own.total).toBe(41);

    const denied = (await repo.auditTrail(patient.id as string)).filter((r) => r.auditEvent.outcome === '4');
    expect(denied.map((r) => r.auditEvent.agent?.[0]?.who?.reference)).toEqual(
      expect.arrayContaining([`Patient/${other.id}`, 'Organization/elsewhere']),
    );
    expect(denied.every((r) => typeof r.auditEvent.outcomeDesc === 'string')).toBe(true);
  });

  it('crypto-shreds a patient: reads answer 410 Gone, the audit trail and every proof remain', async () => {
    await crypto.destroyPatientKeys(patient.id as string);
    await expect(repo.read('Observation', observation.id as string, clinician)).rejects.toMatchObject({
      code: 'ERR_GONE',
    });
    const trail = await repo.auditTrail(patient.id as string);
    expect(trail.length).toBeGreaterThan(5);
    const size = log.size;
    const root = log.root();
    for (let i = 0; i < size; i += 17) {
      verifyInclusionProof(
        hashLeaf(await log.readEntry(i)),
        i,
        size,
        await log.createInclusionProof(i, size),
        root,
      );
    }
  });
});
