/**
 * Session 29 review: a patient's request (decision 0029) had to be for and by the patient, but could
 * name anyone else. Maria created an Appointment proposing a visit with herself and another patient,
 * and a Communication to another patient; both were stored in her compartment, and the hospital's
 * staff found them in the other patient's chart (`Appointment?patient=`, `Communication?recipient=`),
 * with whatever text she wrote. A patient's Task, Communication or Appointment now names no other
 * patient anywhere. Real vault (SQLite, envelope encryption, transparency log).
 */
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATIENT_REQUEST_SYSTEM } from '../../src/access/patient-requests.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

let vault: TestVault;
let maria: string;
let vera: string;
let asMaria: AccessContext;

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  maria = (await vault.repo.create({ resourceType: 'Patient', name: [{ family: 'Rivera' }] }, clinician))
    .id as string;
  vera = (await vault.repo.create({ resourceType: 'Patient', name: [{ family: 'Victim' }] }, clinician))
    .id as string;
  asMaria = { who: `Patient/${maria}`, purpose: 'PATRQT' };
});

afterAll(() => vault.close());

const appointment = (others: string[]): Resource =>
  ({
    resourceType: 'Appointment',
    status: 'proposed',
    description: 'Call +1 555 0100 about your results',
    participant: [maria, ...others].map((id) => ({
      actor: { reference: `Patient/${id}` },
      status: 'needs-action',
    })),
  }) as Resource;

const message = (recipient: string): Resource =>
  ({
    resourceType: 'Communication',
    status: 'completed',
    sender: { reference: `Patient/${maria}` },
    subject: { reference: `Patient/${maria}` },
    recipient: [{ reference: recipient }],
    payload: [{ contentString: 'hello' }],
  }) as Resource;

async function chartOf(patientId: string, type: string, parameter: string): Promise<string[]> {
  const found = await vault.repo.search(
    type,
    new URLSearchParams({ [parameter]: `Patient/${patientId}` }),
    clinician,
    { handling: 'strict' },
  );
  return found.resources.map((r) => r.id as string);
}

describe("a patient's request names no other patient", () => {
  it('refuses an Appointment that includes another patient, and keeps it out of their chart', async () => {
    await expect(vault.repo.create(appointment([vera]), asMaria)).rejects.toMatchObject({
      code: 'ERR_FORBIDDEN',
    });
    expect(await chartOf(vera, 'Appointment', 'patient')).toEqual([]);
    // Her own proposal still goes through.
    const own = await vault.repo.create(appointment([]), asMaria);
    expect(await chartOf(maria, 'Appointment', 'patient')).toContain(own.id);
  });

  it('refuses a message to another patient, however the reference is written', async () => {
    for (const recipient of [
      `Patient/${vera}`,
      `https://elsewhere.example/fhir/Patient/${vera}`,
      `Patient/${vera}/_history/1`,
      'Patient?name=Victim',
    ]) {
      await expect(vault.repo.create(message(recipient), asMaria), recipient).rejects.toMatchObject({
        code: 'ERR_FORBIDDEN',
      });
    }
    expect(await chartOf(vera, 'Communication', 'recipient')).toEqual([]);
    await expect(vault.repo.create(message('Practitioner/dr-1'), asMaria)).resolves.toMatchObject({
      resourceType: 'Communication',
    });
  });

  it('refuses a request Task that hands the decision to another patient', async () => {
    const task = {
      resourceType: 'Task',
      status: 'requested',
      intent: 'order',
      code: { coding: [{ system: PATIENT_REQUEST_SYSTEM, code: 'refill-request' }] },
      for: { reference: `Patient/${maria}` },
      requester: { reference: `Patient/${maria}` },
      owner: { reference: `Patient/${vera}` },
    } as Resource;
    await expect(vault.repo.create(task, asMaria)).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    const { owner: _owner, ...ownTask } = task as Resource & { owner?: unknown };
    await expect(vault.repo.create(ownTask as Resource, asMaria)).resolves.toMatchObject({
      resourceType: 'Task',
    });
  });
});
