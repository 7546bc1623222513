/**
 * Bulk `$export` `_typeFilter` with `code:in=` a ValueSet stored on the node (R4 §3.1.1.5.10): the
 * kick-off accepts it and the job expands it within the requester's access, exactly as a search does.
 * An implicit `?fhir_vs` ValueSet (terminology server) is still refused at kick-off.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import type { BulkExportModule } from '../../src/export/index.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';
import { addExportJobTable, createVaultExportModule } from '../support/vault-export-module.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const STAFF = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
const KICK_OFF = { prefer: 'respond-async', accept: 'application/fhir+json' };
const LOINC = 'http://loinc.org';
const PRESSURE_VS = 'http://vs.example/export-pressure';

let vault: TestVault;
let module: BulkExportModule;
let app: Hono;
const pressure: string[] = [];

function observation(code: string): Resource {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code }] },
    subject: { reference: 'Patient/p1' },
  } as Resource;
}

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000cd');
  addExportJobTable(vault);
  await vault.repo.update({ resourceType: 'Patient', id: 'p1' }, clinician);
  for (const code of ['8480-6', '8462-4'])
    pressure.push((await vault.repo.create(observation(code), clinician)).id as string);
  await vault.repo.create(observation('8310-5'), clinician);
  await vault.repo.create(
    {
      resourceType: 'ValueSet',
      status: 'active',
      url: PRESSURE_VS,
      compose: { include: [{ system: LOINC, concept: [{ code: '8480-6' }, { code: '8462-4' }] }] },
    } as Resource,
    clinician,
  );
  module = createVaultExportModule(vault, { dir: `${vault.dir}/exports` });
  await module.start();
  app = createNodeApp();
  app.route('/fhir', module.routes);
});

afterAll(async () => {
  await module?.stop();
  vault?.close();
});

async function kickOff(filter: string) {
  return app.request(`/fhir/$export?_type=Observation&_typeFilter=${encodeURIComponent(filter)}`, {
    headers: { ...KICK_OFF, ...STAFF },
  });
}

describe('_typeFilter with a stored ValueSet', () => {
  it('exports the records whose code is in the stored ValueSet', async () => {
    const kicked = await kickOff(`Observation?code:in=${PRESSURE_VS}`);
    expect(kicked.status, await kicked.clone().text()).toBe(202);
    await module.service.idle();
    const status = await app.request(new URL(kicked.headers.get('content-location') as string).pathname, {
      headers: STAFF,
    });
    expect(status.status, await status.clone().text()).toBe(200);
    const manifest = (await status.json()) as { output: { type: string; url: string }[]; error: unknown[] };
    expect(manifest.error).toEqual([]);
    const ids: string[] = [];
    for (const output of manifest.output) {
      const file = await app.request(new URL(output.url).pathname, {
        headers: { ...STAFF, accept: 'application/fhir+ndjson' },
      });
      for (const line of (await file.text()).split('\n').filter((l) => l !== ''))
        ids.push((JSON.parse(line) as Resource).id as string);
    }
    expect(ids.sort()).toEqual([...pressure].sort());
  });

  it('still refuses an implicit ValueSet at kick-off', async () => {
    const kicked = await kickOff('Observation?code:in=http://snomed.info/sct?fhir_vs=isa/73211009');
    expect(kicked.status).toBe(400);
  });
});
