/**
 * A POST entry that names no identity (no fullUrl, no id) creates a new resource with a server-assigned
 * id (R4 http.html#trules). Before, its id came from its position in the Bundle, which every Bundle
 * shares: the second transaction overwrote what the first had created.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

function heartRates(values: readonly number[]) {
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: values.map((value) => ({
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
        subject: { reference: 'Patient/p-ids' },
        valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      },
      request: { method: 'POST', url: 'Observation' },
    })),
  };
}

let vault: TestVault;
beforeEach(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
  await vault.repo.update({ resourceType: 'Patient', id: 'p-ids' }, clinician);
});
afterEach(() => vault.close());

describe('transaction POST entries without fullUrl', () => {
  it('create new resources in every Bundle, so a second Bundle keeps what the first created', async () => {
    const first = await vault.repo.transaction(heartRates([61, 62]), clinician);
    const second = await vault.repo.transaction(heartRates([71, 72]), clinician);
    const results = [...first, ...second];
    expect(results.every((result) => result.created)).toBe(true);
    const ids = results.map((result) => result.id);
    expect(new Set(ids).size).toBe(4);
    const values = await Promise.all(
      ids.map(async (id) => {
        const read = await vault.repo.read('Observation', id, clinician);
        return (read as { valueQuantity?: { value: number } }).valueQuantity?.value;
      }),
    );
    expect(values).toEqual([61, 62, 71, 72]);
  });
});
