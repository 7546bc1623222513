/**
 * AuditEvents have blind-index rows for patient, agent, entity and subtype only (issue 16 item 2,
 * src/audit/audit-event-index.ts): searches by those go through the index, searches by any other
 * parameter are decided in memory, and both find exactly the AuditEvents that match.
 */
import type { AuditEvent, Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { SqliteAuditIndex } from '../../src/storage/sqlite/sqlite-audit-index.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', organization: 'Riverside', purpose: 'TREAT' };
const nurse: AccessContext = { who: 'Practitioner/rn-2', organization: 'Riverside', purpose: 'TREAT' };
const privacyOfficer: AccessContext = {
  who: 'Practitioner/po-1',
  organization: 'Riverside',
  purpose: 'HOPERAT',
  roles: ['privacy-officer'],
};

let vault: TestVault;
let patient: Patient;
let observation: Observation;

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000aa');
  patient = (await vault.repo.create(
    { resourceType: 'Patient', name: [{ family: 'Audit' }] },
    clinician,
  )) as Patient;
  observation = (await vault.repo.create(
    {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: `Patient/${patient.id}` },
    },
    clinician,
  )) as Observation;
  await vault.repo.read('Observation', observation.id as string, clinician);
  await vault.repo.read('Observation', observation.id as string, nurse);
  await vault.repo.read('Patient', patient.id as string, nurse);
});

afterAll(() => vault.close());

const ids = (events: readonly AuditEvent[]) => events.map((e) => e.id).sort();

/** The patient's trail as it is before the search (each search adds its own AuditEvent). */
async function trail(): Promise<AuditEvent[]> {
  return (await vault.repo.auditTrail(patient.id as string)).map((r) => r.auditEvent);
}

/** Searches, and checks the result is exactly what `expected` picks from the trail (at least one). */
async function expectSearch(
  query: Record<string, string>,
  expected: (event: AuditEvent) => boolean,
): Promise<void> {
  const wanted = (await trail()).filter(expected);
  expect(wanted.length).toBeGreaterThan(0);
  expect(ids(await search(query))).toEqual(ids(wanted));
}

async function search(query: Record<string, string>): Promise<AuditEvent[]> {
  const result = await vault.repo.search(
    'AuditEvent',
    new URLSearchParams({ ...query, _count: '1000' }),
    privacyOfficer,
    { handling: 'strict' },
  );
  return result.resources as AuditEvent[];
}

describe('AuditEvent search over the fixed index', () => {
  it('writes a read’s rows to the compact AuditEvent index, none to the general one (decision 0039)', async () => {
    // Fewer AuditEvents than a batch: pending, and found by the searches below already.
    const pending = vault.db.prepare('SELECT COUNT(*) AS n FROM vault_audit_pending').get() as { n: number };
    expect(pending.n).toBeGreaterThan(3);
    await expectSearch({ patient: patient.id as string }, () => true);
    new SqliteAuditIndex(vault.db).movePending();
    const rows = vault.db
      .prepare('SELECT COUNT(*) AS n FROM vault_audit_index GROUP BY log_index ORDER BY n DESC LIMIT 1')
      .get() as { n: number };
    expect(rows.n).toBe(11);
    const general = vault.db
      .prepare(`SELECT COUNT(*) AS n FROM vault_search_index WHERE resource_type = 'AuditEvent'`)
      .get() as { n: number };
    expect(general.n).toBe(0);
    const key = vault.db.prepare('SELECT hash FROM vault_audit_index LIMIT 1').get() as { hash: Buffer };
    expect(key.hash.length).toBe(16);
  });

  it('gives AuditEvents time-ordered ids (RFC 9562 version 7) from the vault’s clock', async () => {
    const events = await trail();
    expect(events.length).toBeGreaterThan(3);
    const millis = Date.parse('2026-11-21T10:00:00Z').toString(16).padStart(12, '0');
    for (const e of events) {
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect((e.id as string).replace('-', '').slice(0, 12)).toBe(millis);
    }
  });

  it('finds by the indexed parameters what the patient’s trail holds', async () => {
    await expectSearch({ patient: patient.id as string }, () => true);
    await expectSearch({ patient: `Patient/${patient.id}` }, () => true);
    await expectSearch({ agent: nurse.who }, (e) => e.agent?.[0]?.who?.reference === nurse.who);
    await expectSearch({ entity: `Observation/${observation.id}` }, (e) =>
      (e.entity ?? []).some((x) => x.what?.reference?.startsWith(`Observation/${observation.id}/`)),
    );
    await expectSearch(
      { patient: patient.id as string, subtype: 'read' },
      (e) => e.subtype?.[0]?.code === 'read',
    );
    await expectSearch(
      { subtype: 'http://hl7.org/fhir/restful-interaction|read', agent: nurse.who },
      (e) => e.subtype?.[0]?.code === 'read' && e.agent?.[0]?.who?.reference === nurse.who,
    );
  });

  it('decides the parameters without rows in memory, so they still match', async () => {
    await expectSearch({ patient: patient.id as string, action: 'C' }, (e) => e.action === 'C');
    await expectSearch({ patient: patient.id as string, type: 'rest' }, () => true);
    await expectSearch({ patient: patient.id as string, outcome: '0' }, (e) => e.outcome === '0');
    await expectSearch({ patient: patient.id as string, date: 'ge2026-01-01' }, () => true);
    await expectSearch({ patient: patient.id as string, _lastUpdated: 'ge2026-01-01' }, () => true);
    expect(await search({ patient: patient.id as string, date: 'lt2000-01-01' })).toEqual([]);
    await expectSearch(
      { agent: clinician.who, action: 'R' },
      (e) => e.action === 'R' && e.agent?.[0]?.who?.reference === clinician.who,
    );
    // No indexed parameter at all: every AuditEvent is a candidate, matched in memory.
    expect((await search({ action: 'C' })).length).toBeGreaterThanOrEqual(2);
  });
});
