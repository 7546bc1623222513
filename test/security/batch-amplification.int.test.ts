/**
 * Security review (issue 14): a batch runs each entry as a whole request through the node's routes,
 * in process, where load shedding does not see it; one small request asked for any number of them.
 * A batch now runs at most MAX_BATCH_ENTRIES entries and refuses a larger one before running any.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BATCH_ENTRIES } from '../../src/http/routes/fhir-bundle-routes.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

let solo: SoloNode;
const registrar = { 'x-careledger-identity': 'Practitioner/reg-1', 'x-careledger-roles': 'registrar' };

const batch = (entries: number) =>
  solo.node.app.request('/fhir', {
    method: 'POST',
    headers: { ...registrar, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Bundle',
      type: 'batch',
      entry: Array.from({ length: entries }, () => ({
        request: { method: 'POST', url: 'Patient' },
        resource: { resourceType: 'Patient', name: [{ family: 'Amplified' }] },
      })),
    }),
  });

const patientsNamed = async () => {
  const found = await solo.node.app.request('/fhir/Patient?family=Amplified&_summary=count', {
    headers: registrar,
  });
  return ((await found.json()) as { total: number }).total;
};

beforeAll(async () => {
  solo = await startSoloNode();
}, 120_000);

afterAll(async () => {
  await solo?.stop();
});

describe('batch size', () => {
  it('refuses a batch of more entries than the limit, before running any', async () => {
    const refused = await batch(MAX_BATCH_ENTRIES + 1);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(`at most ${MAX_BATCH_ENTRIES} entries`);
    expect(await patientsNamed()).toBe(0);
    const served = await batch(3);
    expect(served.status).toBe(200);
    expect(await patientsNamed()).toBe(3);
  });
});
