/**
 * The blind index only proposes candidates; what a search returns is decided again on the decrypted
 * resource (decision 0056). A forged or stale index row (one copied from another record's rows by
 * someone who can write the database, no key needed) must never bring another patient's record into
 * a patient-scoped search: the wrong-patient hazard. Every parameter kind, references included.
 */
import type { Observation, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../../src/audit/create-audit-event.js';
import { openTestVault, type TestVault } from '../../support/open-test-vault.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

describe('a search over an index with forged rows', () => {
  let vault: TestVault;
  let smith: Resource;
  let jones: Resource;
  let ofSmith: Resource;
  let ofJones: Resource;

  /** Gives `to` a copy of the index rows of `from` for `param`, as a forged or stale index would. */
  const forgeRows = (type: string, from: string, to: string, param: string) =>
    vault.db
      .prepare(
        `INSERT INTO vault_search_index (resource_type, id, param, hash)
         SELECT resource_type, ?, param, hash FROM vault_search_index WHERE resource_type = ? AND id = ? AND param = ?`,
      )
      .run(to, type, from, param);
  const ids = async (type: string, query: string) =>
    (await vault.repo.search(type, new URLSearchParams(query), clinician, { handling: 'strict' })).resources
      .map((r) => r.id)
      .sort();

  beforeAll(async () => {
    vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
    smith = await vault.repo.create({ resourceType: 'Patient', name: [{ family: 'Smith' }] }, clinician);
    jones = await vault.repo.create({ resourceType: 'Patient', name: [{ family: 'Jones' }] }, clinician);
    const observation = (patient: Resource, code: string): Observation => ({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code }] },
      subject: { reference: `Patient/${patient.id}` },
    });
    ofSmith = await vault.repo.create(observation(smith, '8867-4'), clinician);
    ofJones = await vault.repo.create(observation(jones, '29463-7'), clinician);
    forgeRows('Patient', smith.id as string, jones.id as string, 'family');
    forgeRows('Observation', ofSmith.id as string, ofJones.id as string, 'code');
    forgeRows('Observation', ofSmith.id as string, ofJones.id as string, 'subject');
    forgeRows('Observation', ofSmith.id as string, ofJones.id as string, 'patient');
  });
  afterAll(() => vault.close());

  it('forged rows were really written (the index alone would over-match)', () => {
    const count = vault.db
      .prepare('SELECT COUNT(*) AS n FROM vault_search_index WHERE id = ? AND param = ?')
      .get(ofJones.id, 'subject') as { n: number };
    expect(count.n).toBeGreaterThanOrEqual(2);
  });

  it('a reference search returns only the patient’s own records', async () => {
    expect(await ids('Observation', `subject=Patient/${smith.id}`)).toEqual([ofSmith.id]);
    expect(await ids('Observation', `patient=Patient/${smith.id}`)).toEqual([ofSmith.id]);
    expect(await ids('Observation', `subject:Patient=${smith.id}`)).toEqual([ofSmith.id]);
    expect(await ids('Observation', `subject=Patient/${jones.id}`)).toEqual([ofJones.id]);
  });

  it('a string prefix and a token drop the forged candidate too', async () => {
    expect(await ids('Patient', 'family=smith')).toEqual([smith.id]);
    expect(await ids('Observation', 'code=http://loinc.org|8867-4')).toEqual([ofSmith.id]);
    expect(await ids('Observation', `subject=Patient/${smith.id}&code=8867-4`)).toEqual([ofSmith.id]);
  });
});
