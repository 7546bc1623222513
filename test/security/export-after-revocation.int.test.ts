/**
 * Security review F12: another member's bulk export made while a patient granted it, downloaded after
 * the patient revoked the grant, must not disclose that patient's records. The download (and the
 * manifest) re-judge the file's patients on the consent in force then. Real vault (SQLite, envelope
 * encryption, transparency log), real HTTP in-process; the job queue is awaited, never slept on.
 */
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import type { Hono } from 'hono';
import { getAddress, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import type { BulkExportModule } from '../../src/export/index.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { createEnrolledPatient } from '../support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';
import { addExportJobTable, createVaultExportModule } from '../support/vault-export-module.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const LAB = '0x00000000000000000000000000000000000000bB' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const LAB_MEMBER = { 'x-careledger-identity': `Organization/${LAB}` };
const KICK_OFF = { prefer: 'respond-async', accept: 'application/fhir+json' };

let vault: TestVault;
let module: BulkExportModule;
let app: Hono;
const annKey = privateKeyToAccount(generatePrivateKey());
let annId: string;

function observation(patientId: string): Resource {
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
    code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
    subject: { reference: `Patient/${patientId}` },
  } as Resource;
}

function grantAnn(): Hex {
  return vault.grants.add({
    patient: annKey.address,
    grantee: getAddress(LAB),
    categories: ['laboratory', 'demographics'],
    purposes: ['TREAT'],
  });
}

/** The member's export of Observations, completed: its status path and its manifest's file paths. */
async function exportObservations(): Promise<{ status: string; files: string[] }> {
  const kicked = await app.request('/fhir/$export?_type=Observation', {
    headers: { ...KICK_OFF, ...LAB_MEMBER },
  });
  expect(kicked.status, await kicked.clone().text()).toBe(202);
  await module.service.idle();
  const status = new URL(kicked.headers.get('content-location') as string).pathname;
  const manifest = (await (await app.request(status, { headers: LAB_MEMBER })).json()) as {
    output: { url: string }[];
  };
  return { status, files: manifest.output.map((o) => new URL(o.url).pathname) };
}

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  addExportJobTable(vault);
  annId = await createEnrolledPatient(
    vault.repo,
    { resourceType: 'Patient', name: [{ family: 'Ann' }] },
    annKey,
    clinician,
  );
  for (let i = 0; i < 3; i++) await vault.repo.create(observation(annId), clinician);
  module = createVaultExportModule(vault, { dir: join(vault.dir, 'exports') });
  await module.start();
  app = createNodeApp();
  app.route('/fhir', module.routes);
});

afterAll(async () => {
  await module?.stop();
  vault?.close();
});

describe('a member export downloaded after the patient revoked consent (F12)', () => {
  it('is served while the grant holds', async () => {
    const grant = grantAnn();
    const { files } = await exportObservations();
    expect(files).toHaveLength(1);
    const file = await app.request(files[0] as string, { headers: LAB_MEMBER });
    expect(file.status).toBe(200);
    expect((await file.text()).split('\n').filter((l) => l !== '')).toHaveLength(3);
    vault.grants.revoke(grant);
  });

  it('is refused with an OperationOutcome, left out of the manifest and audited after the revocation', async () => {
    const grant = grantAnn();
    const { status, files } = await exportObservations();
    expect(files).toHaveLength(1);
    vault.grants.revoke(grant);

    const file = await app.request(files[0] as string, { headers: LAB_MEMBER });
    expect(file.status).toBe(403);
    const body = (await file.json()) as { resourceType: string; issue: { diagnostics: string }[] };
    expect(body.resourceType).toBe('OperationOutcome');
    expect(body.issue[0]?.diagnostics).toMatch(/no longer grants/);

    const manifest = (await (await app.request(status, { headers: LAB_MEMBER })).json()) as {
      output: unknown[];
    };
    expect(manifest.output).toEqual([]);

    const jobId = status.slice(status.lastIndexOf('/') + 1);
    const refusals = (await vault.repo.auditTrail(annId))
      .map((r) => r.auditEvent)
      .filter((e) => e.entity?.some((x) => x.what?.reference?.endsWith(`$export/${jobId}`)))
      .filter((e) => e.outcome === '4');
    expect(refusals.map((e) => e.outcomeDesc)).toEqual(['consent withdrawn after the export']);
  });
});
