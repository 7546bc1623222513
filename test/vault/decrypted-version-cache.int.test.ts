/**
 * The decrypted-version cache behind SealedRecordStore.open (decision 0017): a read after an update,
 * a delete, an erasure (in this process or by another holder of the key store) or a tampered row is
 * answered as if nothing were cached.
 */
import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', organization: 'Riverside', purpose: 'TREAT' };
const privacyOfficer: AccessContext = { ...clinician, who: 'Practitioner/po-1', roles: ['privacy-officer'] };

let vault: TestVault;

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000aa');
});
afterAll(() => vault.close());

async function newObservation(value: number): Promise<{ patient: Patient; observation: Observation }> {
  const patient = (await vault.repo.create(
    { resourceType: 'Patient', name: [{ family: 'Cache' }] },
    clinician,
  )) as Patient;
  const observation = (await vault.repo.create(
    {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patient.id}` },
      valueQuantity: { value, unit: '/min' },
    },
    clinician,
  )) as Observation;
  return { patient, observation };
}

const read = async (id: string) => (await vault.repo.read('Observation', id, clinician)) as Observation;

describe('reads through the decrypted-version cache', () => {
  it('see an update, then a delete, on the very next read', async () => {
    const { observation } = await newObservation(60);
    const id = observation.id as string;
    expect((await read(id)).valueQuantity?.value).toBe(60);
    expect((await read(id)).valueQuantity?.value).toBe(60);
    await vault.repo.update({ ...observation, valueQuantity: { value: 61, unit: '/min' } }, clinician);
    expect((await read(id)).valueQuantity?.value).toBe(61);
    await vault.repo.delete('Observation', id, clinician);
    await expect(read(id)).rejects.toMatchObject({ code: 'ERR_GONE' });
  });

  it('give each caller its own copy', async () => {
    const { observation } = await newObservation(70);
    const first = await read(observation.id as string);
    (first.valueQuantity as { value: number }).value = 0;
    expect((await read(observation.id as string)).valueQuantity?.value).toBe(70);
  });

  it('answer 410 after an erasure, made through the vault or straight on the key store', async () => {
    const erasedHere = await newObservation(80);
    expect((await read(erasedHere.observation.id as string)).valueQuantity?.value).toBe(80);
    await vault.repo.erasePatient(erasedHere.patient.id as string, privacyOfficer);
    await expect(read(erasedHere.observation.id as string)).rejects.toMatchObject({ code: 'ERR_GONE' });

    // As another process would: the keys go, this vault's caches are not told.
    const erasedElsewhere = await newObservation(90);
    expect((await read(erasedElsewhere.observation.id as string)).valueQuantity?.value).toBe(90);
    await vault.crypto.destroyPatientKeys(erasedElsewhere.patient.id as string);
    await expect(read(erasedElsewhere.observation.id as string)).rejects.toMatchObject({ code: 'ERR_GONE' });
  });

  it('does not serve the cached plaintext of a row whose ciphertext was changed', async () => {
    const { observation } = await newObservation(100);
    expect((await read(observation.id as string)).valueQuantity?.value).toBe(100);
    vault.db
      .prepare(
        `UPDATE vault_records SET ciphertext = zeroblob(length(ciphertext))
         WHERE resource_type = 'Observation' AND id = ? AND is_current = 1`,
      )
      .run(observation.id);
    await expect(read(observation.id as string)).rejects.toMatchObject({ code: 'ERR_DECRYPT' });
  });
});
