/**
 * `GET /fhir/Patient/{id}/$summary` at one member node over a real chain: a real Synthea patient
 * imported through a transaction, summarised as an IPS document signed with the node's ledger key, the
 * signature verified against the members on the ledger; access and audit are those of $everything.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent, Bundle, Composition } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDocumentSignature } from '../../src/fhir/ips/index.js';
import { validateResource } from '../../src/fhir/validate-resource.js';
import { SUPPORTED_RESOURCE_TYPES } from '../../src/http/routes/fhir-routes.js';
import { SYNTHEA_DIR } from '../support/shared-data.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const clinician = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' };
const officer = {
  'x-careledger-identity': 'Practitioner/po-1',
  'x-careledger-purpose': 'HOPERAT',
  'x-careledger-roles': 'privacy-officer',
};
const FILE = 'Twanda_Rippin_28529cd4-05d7-4df6-aa7c-7fb4d7af2e0f.json';

let solo: SoloNode;
let PATIENT_ID: string;

beforeAll(async () => {
  solo = await startSoloNode();
  const synthea = JSON.parse(readFileSync(join(SYNTHEA_DIR, FILE), 'utf8')) as Bundle;
  // CarePlan refers to Goals, which this node does not serve; the rest is what an IPS draws on.
  const served = new Set<string>(SUPPORTED_RESOURCE_TYPES.filter((type) => type !== 'CarePlan'));
  const transaction = {
    ...synthea,
    entry: synthea.entry?.filter((e) => served.has(e.resource?.resourceType ?? '')),
  };
  const response = await solo.node.app.request('/fhir', {
    method: 'POST',
    headers: { ...clinician, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(transaction),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  const { entry } = (await response.json()) as { entry: { response: { location: string } }[] };
  const location = entry.map((e) => e.response.location).find((l) => l.startsWith('Patient/'));
  PATIENT_ID = location?.split('/')[1] ?? '';
});

afterAll(async () => {
  await solo?.stop();
});

async function isMember(address: string): Promise<boolean> {
  const response = await solo.node.app.request('/ledger/members');
  const { members } = (await response.json()) as { members: { address: string; status: string }[] };
  return members.some((m) => m.address.toLowerCase() === address.toLowerCase() && m.status === 'active');
}

describe('$summary', () => {
  it('answers an IPS document signed by the member, valid FHIR R4', async () => {
    for (const method of ['GET', 'POST']) {
      const response = await solo.node.app.request(`/fhir/Patient/${PATIENT_ID}/$summary`, {
        method,
        headers: clinician,
      });
      expect(response.status, await response.clone().text()).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
      const bundle = (await response.json()) as Bundle;
      expect(bundle.type).toBe('document');
      const composition = bundle.entry?.[0]?.resource as Composition;
      expect(composition.section?.map((s) => s.code?.coding?.[0]?.code).slice(0, 3)).toEqual([
        '11450-4',
        '48765-2',
        '10160-0',
      ]);
      expect(composition.section?.[1]?.entry).toHaveLength(2);
      const status = (await (await solo.node.app.request('/status')).json()) as { address: string };
      await expect(verifyDocumentSignature(bundle, { isMember })).resolves.toMatchObject({
        signer: status.address,
      });
      expect(validateResource(bundle).valid).toBe(true);
    }
  });

  it('is refused and audited as $everything', async () => {
    expect((await solo.node.app.request(`/fhir/Patient/${PATIENT_ID}/$summary`)).status).toBe(401);
    expect(
      (await solo.node.app.request('/fhir/Patient/no-such-patient/$summary', { headers: clinician })).status,
    ).toBe(404);
    const response = await solo.node.app.request(
      `/fhir/AuditEvent?entity=${encodeURIComponent(`Patient/${PATIENT_ID}`)}&_count=200`,
      { headers: officer },
    );
    expect(response.status, await response.clone().text()).toBe(200);
    const events = ((await response.json()) as Bundle).entry?.map((e) => e.resource as AuditEvent) ?? [];
    const operations = events.filter((e) =>
      (e.entity ?? []).some((entity) => entity.what?.reference === `Patient/${PATIENT_ID}/$everything`),
    );
    expect(operations.length).toBeGreaterThanOrEqual(2);
  });
});
