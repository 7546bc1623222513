/**
 * Issue 14 item 8 and issue 16 over a real vault: a tampered record no longer breaks every search
 * that touches it (the rest is served, the failure reported without PHI, audited and alerted), and
 * `_count` bounds decryption when the order comes from the index.
 */
import type { Observation, Patient } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessPolicy } from '../../src/access/index.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { formatSearchBundle } from '../../src/http/routes/search-bundle.js';
import { SqliteRecordStorage } from '../../src/storage/sqlite/sqlite-record-storage.js';
import { FhirRepository } from '../../src/vault/fhir-repository.js';
import type { IntegrityFailure } from '../../src/vault/operations/search-type.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const NODE_ADDRESS = '0x00000000000000000000000000000000000000aa';
const clinician: AccessContext = { who: 'Practitioner/dr-1', organization: 'Riverside', purpose: 'TREAT' };
const CODE = 'http://loinc.org|29463-7';

let vault: TestVault;
let repo: FhirRepository;
const alerts: IntegrityFailure[] = [];
let patient: Patient;
let order: string[];

beforeAll(async () => {
  vault = await openTestVault(NODE_ADDRESS);
  repo = new FhirRepository({
    storage: new SqliteRecordStorage(vault.db),
    crypto: vault.crypto,
    log: vault.log,
    observer: { display: 'Riverside', origin: 'test.example/log' },
    now: () => vault.clock.now,
    breakGlass: vault.breakGlass,
    policy: new AccessPolicy({
      consent: vault.grants.decide,
      nodeAddress: NODE_ADDRESS,
      breakGlass: vault.breakGlass,
    }),
    onIntegrityFailure: (failure) => alerts.push(failure),
  });
  patient = (await repo.create(
    { resourceType: 'Patient', name: [{ family: 'Weighed' }] },
    clinician,
  )) as Patient;
  for (let i = 0; i < 12; i++) {
    vault.clock.now = new Date(Date.UTC(2026, 0, 1 + i));
    await repo.create(
      {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '29463-7' }] },
        subject: { reference: `Patient/${patient.id}` },
        valueQuantity: { value: 60 + i, unit: 'kg' },
      } as Observation,
      clinician,
    );
  }
  const all = await repo.search('Observation', new URLSearchParams({ code: CODE, _count: '50' }), clinician, {
    handling: 'strict',
  });
  order = all.resources.map((r) => r.id as string);
  // Flip the last byte (inside the GCM tag) of the tenth record in index order.
  const row = vault.db
    .prepare(
      "SELECT ciphertext FROM vault_records WHERE resource_type = 'Observation' AND id = ? AND is_current = 1",
    )
    .get(order[9]) as { ciphertext: Uint8Array };
  const tampered = Buffer.from(row.ciphertext);
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
  vault.db
    .prepare(
      "UPDATE vault_records SET ciphertext = ? WHERE resource_type = 'Observation' AND id = ? AND is_current = 1",
    )
    .run(tampered, order[9]);
}, 120_000);

afterAll(() => vault?.close());

describe('a search over a tampered record', () => {
  it('with _count and no _sort decrypts only the page, so the tampered record past it is never touched', async () => {
    const page = await repo.search(
      'Observation',
      new URLSearchParams({ code: CODE, _count: '3' }),
      clinician,
      {
        handling: 'strict',
      },
    );
    expect(page.resources.map((r) => r.id)).toEqual(order.slice(0, 3));
    expect(page.unverified).toBe(0);
    expect(alerts).toEqual([]);
  });

  it('serves what verifies, reports the rest without PHI, alerts and audits', async () => {
    const result = await repo.search(
      'Observation',
      new URLSearchParams({ code: CODE, _count: '50', _total: 'accurate' }),
      clinician,
      { handling: 'strict' },
    );
    expect(result.resources.map((r) => r.id)).toEqual(order.filter((_, i) => i !== 9));
    expect(result.total).toBe(11);
    expect(result.unverified).toBe(1);
    expect(alerts).toEqual([
      { resourceType: 'Observation', id: order[9], versionId: 1, patientId: patient.id },
    ]);
    const bundle = formatSearchBundle(result, 'https://node.example', '/fhir/Observation') as {
      entry: {
        search: { mode: string };
        resource: { issue?: { severity: string; diagnostics: string }[] };
      }[];
    };
    const outcome = bundle.entry.find((e) => e.search.mode === 'outcome')?.resource;
    expect(outcome?.issue?.[0]).toMatchObject({ severity: 'error' });
    expect(JSON.stringify(outcome)).not.toContain('Weighed');
    const trail = await repo.auditTrail(patient.id as string);
    const failed = trail.filter((r) => r.auditEvent.outcome === '8');
    expect(failed.map((r) => r.auditEvent.entity?.[0]?.what?.reference)).toContain(`Observation/${order[9]}`);
  });
});
