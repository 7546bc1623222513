/**
 * FHIR Bulk Data v2 `$export` end to end over a real vault (SQLite, envelope encryption, transparency
 * log) and real HTTP in-process: kick-off, status, manifest and sealed NDJSON files at system, Patient
 * and Group level; `_type`, `_since`, `_typeFilter`; consent filtering; per-patient AuditEvents;
 * DELETE; errors; restart and expiry. The job queue is awaited (`idle`), never slept on.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import type { Hono } from 'hono';
import { getAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import type { BulkExportModule } from '../../src/export/index.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { SqliteExportJobStorage } from '../../src/storage/sqlite/sqlite-export-job-storage.js';
import { createEnrolledPatient } from '../support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';
import { addExportJobTable, createVaultExportModule } from '../support/vault-export-module.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const LAB = '0x00000000000000000000000000000000000000bB' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const STAFF = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
const OTHER_STAFF = { 'x-careledger-identity': 'Practitioner/dr-2', 'x-careledger-roles': 'clinician' };
const LAB_MEMBER = { 'x-careledger-identity': `Organization/${LAB}` };
const KICK_OFF = { prefer: 'respond-async', accept: 'application/fhir+json' };

let vault: TestVault;
let exportsDir: string;
let module: BulkExportModule;
let app: Hono;
const annKey = privateKeyToAccount(generatePrivateKey());
const benKey = privateKeyToAccount(generatePrivateKey());
const ann = annKey.address;
let annId: string;
let benId: string;

function newModule(): BulkExportModule {
  return createVaultExportModule(vault, {
    dir: exportsDir,
    // Small pages, so paging and file boundaries are exercised by a handful of records.
    pageSize: 3,
    maxResourcesPerFile: 4,
    patientsPerPage: 1,
  });
}

function mount(m: BulkExportModule): Hono {
  const a = createNodeApp();
  a.route('/fhir', m.routes);
  return a;
}

/** A Patient without its ledger key: the key is linked by enrolment, with its proof of possession. */
function patient(family: string): Resource {
  return { resourceType: 'Patient', name: [{ family }] };
}

function observation(patientId: string, code: string): Resource {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
        ],
      },
    ],
    code: { coding: [{ system: 'http://loinc.org', code }] },
    subject: { reference: `Patient/${patientId}` },
  } as Resource;
}

/** Kick-off, wait for the queue, read the manifest and every file: type → resources. */
async function runExport(
  path: string,
  headers: Record<string, string> = STAFF,
  m: BulkExportModule = module,
  a: Hono = app,
): Promise<{ jobId: string; manifest: Manifest; files: Map<string, Resource[]> }> {
  const kicked = await a.request(path, { headers: { ...KICK_OFF, ...headers } });
  expect(kicked.status, await kicked.clone().text()).toBe(202);
  const location = kicked.headers.get('content-location') as string;
  expect(location).toMatch(/^http:\/\/node\.test\/fhir\/\$export-status\/[0-9a-f-]+$/);
  await m.service.idle();
  const status = await a.request(new URL(location).pathname, { headers });
  expect(status.status, await status.clone().text()).toBe(200);
  const manifest = (await status.json()) as Manifest;
  const files = new Map<string, Resource[]>();
  for (const output of [...manifest.output, ...manifest.error]) {
    const file = await a.request(new URL(output.url).pathname, {
      headers: { ...headers, accept: 'application/fhir+ndjson' },
    });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/fhir+ndjson');
    const lines = (await file.text()).split('\n').filter((l) => l !== '');
    expect(lines.length).toBe(output.count);
    files.set(output.type, [
      ...(files.get(output.type) ?? []),
      ...lines.map((l) => JSON.parse(l) as Resource),
    ]);
  }
  return { jobId: location.slice(location.lastIndexOf('/') + 1), manifest, files };
}

interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count: number }[];
  error: { type: string; url: string; count: number }[];
}

function idsOf(files: Map<string, Resource[]>, type: string): string[] {
  return (files.get(type) ?? []).map((r) => r.id as string).sort();
}

async function exportAudits(patientId: string, jobId: string): Promise<AuditEvent[]> {
  return (await vault.repo.auditTrail(patientId))
    .map((r) => r.auditEvent)
    .filter((e) => e.entity?.some((x) => x.what?.reference?.endsWith(`$export/${jobId}`)));
}

const annObs: string[] = [];
const benObs: string[] = [];
let orgId: string;

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  addExportJobTable(vault);
  exportsDir = join(vault.dir, 'exports');
  annId = await createEnrolledPatient(vault.repo, patient('Ann'), annKey, clinician);
  benId = await createEnrolledPatient(vault.repo, patient('Ben'), benKey, clinician);
  for (const code of ['2345-7', '2345-7', '718-7', '2339-0', '718-7'])
    annObs.push((await vault.repo.create(observation(annId, code), clinician)).id as string);
  for (const code of ['2345-7', '718-7'])
    benObs.push((await vault.repo.create(observation(benId, code), clinician)).id as string);
  orgId = (await vault.repo.create({ resourceType: 'Organization', name: 'Riverside' }, clinician))
    .id as string;
  await vault.repo.update(
    {
      resourceType: 'Group',
      id: 'cohort',
      type: 'person',
      actual: true,
      member: [{ entity: { reference: `Patient/${annId}` } }],
    },
    clinician,
  );
  module = newModule();
  await module.start();
  app = mount(module);
});

afterAll(async () => {
  await module?.stop();
  vault?.close();
});

describe('bulk $export', () => {
  it('exports every served record at system level, split in files, with a manifest', async () => {
    const { manifest, files, jobId } = await runExport('/fhir/$export');
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.request).toBe('http://node.test/fhir/$export');
    expect(manifest.transactionTime).toBe(vault.clock.now.toISOString());
    expect(manifest.error).toEqual([]);
    expect(idsOf(files, 'Patient')).toEqual([annId, benId].sort());
    expect(idsOf(files, 'Observation')).toEqual([...annObs, ...benObs].sort());
    expect(idsOf(files, 'Organization')).toEqual([orgId]);
    expect(idsOf(files, 'Group')).toEqual(['cohort']);
    // Seven Observations at four per file: two files.
    expect(manifest.output.filter((o) => o.type === 'Observation').map((o) => o.count)).toEqual([4, 3]);
    // The files at rest are sealed: no FHIR JSON in them.
    const onDisk = readdirSync(join(exportsDir, jobId));
    expect(onDisk.sort()).toEqual(manifest.output.map((o) => o.url.slice(o.url.lastIndexOf('/') + 1)).sort());
  });

  it('audits once per exported patient, naming the job', async () => {
    const { jobId } = await runExport('/fhir/$export?_type=Observation');
    for (const id of [annId, benId]) {
      const events = await exportAudits(id, jobId);
      expect(events).toHaveLength(1);
      expect(events[0]?.subtype?.[0]?.code).toBe('operation');
      expect(events[0]?.agent[0]?.who?.reference).toBe('Practitioner/dr-1');
      expect(events[0]?.entity?.find((e) => e.role?.code === '1')?.what?.reference).toBe(`Patient/${id}`);
    }
  });

  it('exports patient compartments at Patient level and the members at Group level', async () => {
    const patients = await runExport('/fhir/Patient/$export?_type=Patient,Observation,Organization');
    expect(idsOf(patients.files, 'Observation')).toEqual([...annObs, ...benObs].sort());
    expect(patients.files.has('Organization')).toBe(false);
    const group = await runExport('/fhir/Group/cohort/$export');
    expect(idsOf(group.files, 'Patient')).toEqual([annId]);
    expect(idsOf(group.files, 'Observation')).toEqual([...annObs].sort());
    expect(await exportAudits(benId, group.jobId)).toHaveLength(0);
    expect(await exportAudits(annId, group.jobId)).toHaveLength(1);
    const missing = await app.request('/fhir/Group/nobody/$export', { headers: { ...KICK_OFF, ...STAFF } });
    expect(missing.status).toBe(404);
  });

  it('honours _type, _typeFilter (OR of queries, commas inside a query) and _since', async () => {
    const typed = await runExport('/fhir/$export?_type=Patient');
    expect([...typed.files.keys()]).toEqual(['Patient']);
    const filter = encodeURIComponent('Observation?code=http://loinc.org|2345-7,http://loinc.org|2339-0');
    const filtered = await runExport(`/fhir/$export?_type=Observation&_typeFilter=${filter}`);
    const wanted = [annObs[0], annObs[1], annObs[3], benObs[0]] as string[];
    expect(idsOf(filtered.files, 'Observation')).toEqual(wanted.sort());
    const two = await runExport(
      `/fhir/$export?_type=Observation&_typeFilter=${encodeURIComponent('Observation?code=http://loinc.org|2339-0')}` +
        `&_typeFilter=${encodeURIComponent(`Observation?subject=Patient/${benId}`)}`,
    );
    expect(idsOf(two.files, 'Observation')).toEqual([annObs[3], ...benObs].sort());

    const before = vault.clock.now;
    vault.clock.now = new Date(before.getTime() + 60_000);
    const later = (await vault.repo.create(observation(benId, '718-7'), clinician)).id as string;
    const since = await runExport(
      `/fhir/$export?_since=${encodeURIComponent(new Date(before.getTime() + 1000).toISOString())}`,
    );
    expect([...since.files.keys()]).toEqual(['Observation']);
    expect(idsOf(since.files, 'Observation')).toEqual([later]);
    benObs.push(later);
  });

  it('gives another member only the patients who granted it consent', async () => {
    vault.grants.add({
      patient: ann,
      grantee: getAddress(LAB),
      categories: ['laboratory', 'demographics'],
      purposes: ['TREAT'],
    });
    const { files, jobId } = await runExport('/fhir/$export?_type=Patient,Observation', LAB_MEMBER);
    expect(idsOf(files, 'Patient')).toEqual([annId]);
    expect(idsOf(files, 'Observation')).toEqual([...annObs].sort());
    expect((await exportAudits(annId, jobId)).map((e) => e.outcome)).toEqual(['0']);
    // Ben's own history shows the refused attempt, as for a refused search.
    const refused = await exportAudits(benId, jobId);
    expect(refused.map((e) => e.outcome)).toEqual(['4']);
    expect(refused[0]?.outcomeDesc).toMatch(/consent/);
  });

  it('refuses bad kick-offs with a 400 OperationOutcome naming the parameter', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['/fhir/$export?_type=Nonsense', KICK_OFF, '_type'],
      ['/fhir/$export?_since=yesterday', KICK_OFF, '_since'],
      ['/fhir/$export?_outputFormat=text/csv', KICK_OFF, '_outputFormat'],
      [`/fhir/$export?_typeFilter=${encodeURIComponent('Observation?bogus=1')}`, KICK_OFF, 'bogus'],
      [`/fhir/$export?_typeFilter=${encodeURIComponent('Observation?_count=1')}`, KICK_OFF, '_typeFilter'],
      ['/fhir/$export?_elements=id', KICK_OFF, '_elements'],
      ['/fhir/$export', { accept: 'application/fhir+json' }, 'Prefer'],
    ];
    for (const [path, headers, parameter] of cases) {
      const response = await app.request(path, { headers: { ...headers, ...STAFF } });
      expect(response.status, path).toBe(400);
      const body = (await response.json()) as { resourceType: string; issue: { diagnostics: string }[] };
      expect(body.resourceType).toBe('OperationOutcome');
      expect(body.issue[0]?.diagnostics, path).toContain(parameter);
    }
    // Lenient handling ignores what it cannot honour and says so in the error file.
    const lenient = await runExport('/fhir/$export?_type=Patient&_elements=id', {
      ...STAFF,
      prefer: 'respond-async, handling=lenient',
    });
    expect(lenient.manifest.error).toHaveLength(1);
    expect(JSON.stringify(lenient.files.get('OperationOutcome'))).toContain('_elements');
  });

  it('shows a job only to its requester; DELETE removes it and its files', async () => {
    const { jobId } = await runExport('/fhir/$export?_type=Patient');
    expect((await app.request(`/fhir/$export-status/${jobId}`, { headers: OTHER_STAFF })).status).toBe(404);
    expect(
      (await app.request(`/fhir/$export-file/${jobId}/Patient-1.ndjson`, { headers: OTHER_STAFF })).status,
    ).toBe(404);
    const deleted = await app.request(`/fhir/$export-status/${jobId}`, { method: 'DELETE', headers: STAFF });
    expect(deleted.status).toBe(202);
    expect((await app.request(`/fhir/$export-status/${jobId}`, { headers: STAFF })).status).toBe(404);
    expect(readdirSync(exportsDir)).not.toContain(jobId);
  });

  it('answers 202 with X-Progress while queued, and resumes a job a restart interrupted', async () => {
    const stopped = newModule();
    const stoppedApp = mount(stopped);
    // Not started: the job waits in the queue, as after a crash.
    const kicked = await stoppedApp.request('/fhir/$export?_type=Patient', {
      headers: { ...KICK_OFF, ...STAFF },
    });
    const path = new URL(kicked.headers.get('content-location') as string).pathname;
    const waiting = await stoppedApp.request(path, { headers: STAFF });
    expect(waiting.status).toBe(202);
    expect(waiting.headers.get('x-progress')).toBe('queued');
    expect(waiting.headers.get('retry-after')).toBe('2');
    const jobId = path.slice(path.lastIndexOf('/') + 1);
    const storage = new SqliteExportJobStorage(vault.db);
    await storage.update(jobId, { status: 'in-progress', attempts: 1 });
    const restarted = newModule();
    await restarted.start();
    await restarted.service.idle();
    const done = await mount(restarted).request(path, { headers: STAFF });
    expect(done.status).toBe(200);
    expect((await storage.get(jobId))?.attempts).toBe(2);
    await restarted.stop();

    // A job interrupted too often is failed, and its status says why (500 with an OperationOutcome).
    const again = await stoppedApp.request('/fhir/$export?_type=Patient', {
      headers: { ...KICK_OFF, ...STAFF },
    });
    const failedPath = new URL(again.headers.get('content-location') as string).pathname;
    await storage.update(failedPath.slice(failedPath.lastIndexOf('/') + 1), {
      status: 'in-progress',
      attempts: 3,
    });
    const third = newModule();
    await third.start();
    const failed = await mount(third).request(failedPath, { headers: STAFF });
    expect(failed.status).toBe(500);
    expect(((await failed.json()) as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics).toContain(
      'interrupted 3 times',
    );
    await third.stop();
  });

  it('refuses to serve an export file altered at rest', async () => {
    const { jobId, manifest } = await runExport('/fhir/$export?_type=Patient');
    const path = join(exportsDir, jobId, 'Patient-1.ndjson');
    const bytes = readFileSync(path);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 1;
    writeFileSync(path, bytes);
    const file = await app.request(new URL(manifest.output[0]?.url as string).pathname, { headers: STAFF });
    expect(file.status).toBe(500);
    expect(((await file.json()) as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics).toBe(
      'the export file cannot be opened',
    );
  });

  it('refuses a sixth job under way for one requester with 429', async () => {
    const queued = mount(newModule()); // never started: its jobs stay queued
    const headers = {
      ...KICK_OFF,
      'x-careledger-identity': 'Practitioner/dr-3',
      'x-careledger-roles': 'clinician',
    };
    for (let i = 0; i < 5; i++)
      expect((await queued.request('/fhir/$export?_type=Patient', { headers })).status).toBe(202);
    const refused = await queued.request('/fhir/$export?_type=Patient', { headers });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
  });

  it('deletes expired files and answers 410 after', async () => {
    const { jobId } = await runExport('/fhir/$export?_type=Patient');
    expect(readdirSync(exportsDir)).toContain(jobId);
    vault.clock.now = new Date(vault.clock.now.getTime() + 25 * 3600 * 1000);
    expect(await module.service.sweepExpired()).toBeGreaterThan(0);
    expect(readdirSync(exportsDir)).not.toContain(jobId);
    expect((await app.request(`/fhir/$export-status/${jobId}`, { headers: STAFF })).status).toBe(410);
    expect(
      (await app.request(`/fhir/$export-file/${jobId}/Patient-1.ndjson`, { headers: STAFF })).status,
    ).toBe(410);
  });
});
