/**
 * Decision 0056: the memory stage skips the filters the blind index decides exactly (a reference, a
 * uri) and keeps every other. Proven here on a plan, and over a real vault whose index rows are
 * forged so that the index over-matches: a kept re-check drops the forged candidate, an exact filter
 * (the index is the whole of its decision) does not look at the resource again.
 */
import type { Observation, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../../src/audit/create-audit-event.js';
import { matchesSearch, planSearch } from '../../../src/fhir/search/index.js';
import { residualAfterIndex } from '../../../src/fhir/search/matches-search.js';
import { openTestVault, type TestVault } from '../../support/open-test-vault.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const hash = (value: string) => `h(${value})`;
const plan = (resourceType: string, query: string) =>
  planSearch(resourceType, new URLSearchParams(query), hash, { handling: 'strict', now: 0 });
const exactCodes = (resourceType: string, query: string) =>
  [...(plan(resourceType, query).indexExact ?? [])].map((filter) => filter.code);
const memoryCodes = (resourceType: string, query: string) =>
  (residualAfterIndex(plan(resourceType, query)).residual.filters ?? []).map((filter) => filter.code);

describe('which filters the index decides exactly', () => {
  it('a reference (with or without a type modifier, several values) and a uri are exact', () => {
    expect(exactCodes('Observation', 'subject=Patient/1')).toEqual(['subject']);
    expect(exactCodes('Observation', 'subject:Patient=1')).toEqual(['subject']);
    expect(exactCodes('Observation', 'subject=1,Patient/2&patient=Patient/1')).toEqual([
      'subject',
      'patient',
    ]);
    expect(exactCodes('ValueSet', 'url=http://example.org/vs')).toEqual(['url']);
    expect(memoryCodes('Observation', 'subject=Patient/1&_count=20')).toEqual([]);
  });

  it('a string, a token, a date, a modifier, an escape, a contained search and AuditEvents keep the re-check', () => {
    expect(memoryCodes('Patient', 'family=smi')).toEqual(['family']);
    expect(memoryCodes('Observation', 'code=http://loinc.org|8867-4')).toEqual(['code']);
    expect(memoryCodes('Observation', 'date=2026-01-01')).toEqual(['date']);
    expect(memoryCodes('Observation', 'subject:identifier=http://x|1')).toEqual(['subject']);
    expect(memoryCodes('ValueSet', 'url:below=http://example.org')).toEqual(['url']);
    expect(memoryCodes('Observation', 'subject=Patient/a\\,b')).toEqual(['subject']);
    expect(memoryCodes('AuditEvent', 'patient=Patient/1')).toEqual(['patient']);
    const contained = planSearch('Observation', new URLSearchParams('subject=Patient/1'), hash, {
      handling: 'strict',
      now: 0,
      contained: true,
    });
    expect(contained.indexExact).toBeUndefined();
    // Mixed: only the exact one leaves the memory stage.
    expect(memoryCodes('Observation', 'subject=Patient/1&code=8867-4')).toEqual(['code']);
  });

  it('a resource matching the whole plan matches what is left, and the whole plan still decides others', () => {
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: 'Patient/1' },
    };
    const full = plan('Observation', 'subject=Patient/2&code=8867-4');
    expect(matchesSearch(observation, full)).toBe(false);
    // Left for the memory stage: the code only (the index already required subject=Patient/2).
    expect(matchesSearch(observation, residualAfterIndex(full))).toBe(true);
    expect(full.residual.filters?.map((f) => f.code)).toEqual(['subject', 'code']);
  });
});

describe('over a vault whose index over-matches (forged rows)', () => {
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
  });
  afterAll(() => vault.close());

  it('a string prefix and a token are checked again in memory: the forged candidate is dropped', async () => {
    expect(await ids('Patient', 'family=smith')).toEqual([smith.id]);
    expect(await ids('Observation', 'code=http://loinc.org|8867-4')).toEqual([ofSmith.id]);
    // An exact filter beside a kept one: the kept one still drops the forged candidate.
    expect(await ids('Observation', `subject=Patient/${smith.id}&code=8867-4`)).toEqual([ofSmith.id]);
  });

  it('a reference is decided by the index alone (what its rows say is what matchesSearch would)', async () => {
    expect(await ids('Observation', `subject=Patient/${smith.id}`)).toEqual([ofSmith.id, ofJones.id].sort());
    // The unforged rows decide as before.
    expect(await ids('Observation', `subject=Patient/${jones.id}`)).toEqual([ofJones.id]);
  });
});
