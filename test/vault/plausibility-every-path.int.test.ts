/**
 * Issue 22 item 2 on every write path: a heart rate of −5000/min is refused by create, update, PATCH
 * and a transaction alike (400, the element named, the value never), and nothing is stored.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { CareLedgerError } from '../../src/errors/index.js';
import { HTTP_STATUS } from '../../src/http/error-response.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

const heartRate = (value: number, id?: string) => ({
  resourceType: 'Observation',
  ...(id === undefined ? {} : { id }),
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: 'Patient/p-plaus' },
  valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
});

async function refusal(work: Promise<unknown>): Promise<CareLedgerError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CareLedgerError);
  const refused = error as CareLedgerError;
  expect(HTTP_STATUS[refused.code]).toBe(400);
  const text = JSON.stringify({ message: refused.message, details: refused.details });
  expect(text).toContain('Observation.value');
  expect(text).not.toContain('5000');
  return refused;
}

let vault: TestVault;
beforeEach(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000Ab');
  await vault.repo.update({ resourceType: 'Patient', id: 'p-plaus' }, clinician);
});
afterEach(() => vault.close());

describe('an impossible value is refused on every write path', () => {
  it('create, update, PATCH and transaction', async () => {
    await refusal(vault.repo.create(heartRate(-5000), clinician));
    await refusal(vault.repo.update(heartRate(-5000, 'hr-new'), clinician));

    const stored = await vault.repo.create(heartRate(72), clinician);
    const id = stored.id as string;
    await refusal(vault.repo.update(heartRate(-5000, id), clinician));
    await refusal(
      vault.repo.patch(
        'Observation',
        id,
        (current) => ({ ...current, valueQuantity: heartRate(-5000).valueQuantity }) as typeof current,
        clinician,
      ),
    );
    await refusal(
      vault.repo.transaction(
        {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: heartRate(80), request: { method: 'POST', url: 'Observation' } },
            { resource: heartRate(-5000), request: { method: 'POST', url: 'Observation' } },
          ],
        },
        clinician,
      ),
    );

    // Nothing impossible and nothing of the refused Bundle was stored: the one good reading is there.
    const read = (await vault.repo.read('Observation', id, clinician)) as {
      valueQuantity: { value: number };
      meta: { versionId: string };
    };
    expect(read.valueQuantity.value).toBe(72);
    expect(read.meta.versionId).toBe('1');
    const all = await vault.repo.search(
      'Observation',
      new URLSearchParams({ subject: 'Patient/p-plaus' }),
      clinician,
      { handling: 'strict' },
    );
    expect(all.resources.map((r) => r.id)).toEqual([id]);
  });
});
