/**
 * Session 29 review of the whole-system interactions CONFORM added (system history, decision 0051):
 * the same decisions as type history for every requester an outside reviewer would try. A token's
 * SMART scopes leave whole types out; a practitioner's token launched for one patient lists no other
 * patient's versions (not even deleted ones); a sensitive record (PSY label) without the patient's
 * grant is not listed to a clinician; another member without a grant gets nothing; AuditEvents are
 * never listed. Real vault (SQLite, envelope encryption, transparency log), real access policy.
 */
import type { Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { parseScopes } from '../../src/smart/index.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const HOSPITAL = '0x00000000000000000000000000000000000000Aa' as const;
const LAB = '0x00000000000000000000000000000000000000bB' as const;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const lab: AccessContext = { who: `Organization/${LAB}`, purpose: 'TREAT', member: LAB };
const PSY = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PSY' };

let vault: TestVault;
let maria: string;
let vera: string;
let deletedOfVera: string;
let deletedOfMaria: string;
let labelledOfMaria: string;

const condition = (patient: string, labelled = false): Resource =>
  ({
    resourceType: 'Condition',
    ...(labelled ? { meta: { security: [PSY] } } : {}),
    code: { text: labelled ? 'depression' : 'sinusitis' },
    subject: { reference: `Patient/${patient}` },
  }) as Resource;

const observation = (patient: string): Resource =>
  ({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'pulse' },
    subject: { reference: `Patient/${patient}` },
  }) as Resource;

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  const create = async (resource: Resource) => (await vault.repo.create(resource, clinician)).id as string;
  maria = await create({ resourceType: 'Patient', name: [{ family: 'Rivera' }] } as Resource);
  vera = await create({ resourceType: 'Patient', name: [{ family: 'Victim' }] } as Resource);
  await create(condition(maria));
  labelledOfMaria = await create(condition(maria, true));
  await create(observation(maria));
  await create(condition(vera));
  deletedOfVera = await create(observation(vera));
  await vault.repo.delete('Observation', deletedOfVera, clinician);
  deletedOfMaria = await create(observation(maria));
  await vault.repo.delete('Observation', deletedOfMaria, clinician);
});

afterAll(() => vault.close());

async function systemHistory(context: AccessContext): Promise<string[]> {
  const entries = await vault.repo.typeHistory(undefined, context, { count: 500 });
  return entries.map((e) => `${e.resourceType}/${e.id}${e.deleted ? ' deleted' : ''}`);
}

describe('system history, as an outside reviewer tries it', () => {
  it("leaves out the types a token's scopes do not cover", async () => {
    const listed = await systemHistory({
      who: `Patient/${maria}`,
      purpose: 'PATRQT',
      scopes: parseScopes('patient/Observation.rs'),
      launchPatient: maria,
    });
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((entry) => entry.startsWith('Observation/'))).toBe(true);
  });

  const launchedForMaria = (): AccessContext => ({
    ...clinician,
    scopes: parseScopes('launch/patient patient/*.rs'),
    launchPatient: maria,
  });

  it("lists no other patient's record to a practitioner's token launched for one patient", async () => {
    const listed = await systemHistory(launchedForMaria());
    expect(listed).toContain(`Patient/${maria}`);
    expect(listed).not.toContain(`Patient/${vera}`);
    expect(listed).not.toContain(`Observation/${deletedOfVera}`);
    await expect(vault.repo.history('Observation', deletedOfVera, launchedForMaria())).rejects.toMatchObject({
      code: expect.stringMatching(/ERR_NOT_FOUND|ERR_FORBIDDEN/),
    });
  });

  // Finding F6 (NOTES-SEC.md): a deleted version was judged by its compartment only
  // (AccessGate.seesCompartment), not by the token's launch context, so the type, id and time of
  // another patient's deleted record were listed; now the token's scopes must reach it too.
  it("lists no other patient's deleted record to that token (finding F6)", async () => {
    const listed = await systemHistory(launchedForMaria());
    expect(listed.filter((entry) => entry.includes(deletedOfVera))).toEqual([]);
    const typeHistory = await vault.repo.typeHistory('Observation', launchedForMaria(), { count: 100 });
    expect(typeHistory.filter((entry) => entry.id === deletedOfVera)).toEqual([]);
    // Her own deleted record is still listed, in system, type and instance history.
    expect(listed).toContain(`Observation/${deletedOfMaria} deleted`);
    expect(typeHistory.filter((entry) => entry.id === deletedOfMaria && entry.deleted)).toHaveLength(1);
    const instance = await vault.repo.history('Observation', deletedOfMaria, launchedForMaria());
    expect(instance.filter((entry) => entry.deleted)).toHaveLength(1);
  });

  it("keeps a sensitive record from a clinician without the patient's grant", async () => {
    const listed = await systemHistory(clinician);
    expect(listed).toContain(`Patient/${maria}`);
    expect(listed.filter((entry) => entry.includes(labelledOfMaria))).toEqual([]);
  });

  it('gives another member without a grant nothing, and never lists AuditEvents', async () => {
    expect(await systemHistory(lab)).toEqual([]);
    const privacyOfficer: AccessContext = {
      who: 'Practitioner/po-1',
      purpose: 'HOPERAT',
      roles: ['privacy-officer'],
    };
    expect((await systemHistory(privacyOfficer)).filter((e) => e.startsWith('AuditEvent/'))).toEqual([]);
  });
});
