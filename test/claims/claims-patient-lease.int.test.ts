/**
 * Claim/$submit across processes (decision 0019): two ClaimsService instances, as two processes of
 * one payer member, over one vault and one SQLite file (each with its own connection) adjudicate two
 * claims of the same patient at once. The patient's lease row makes the second wait for the first's
 * decision, so it sees the deductible the first met; without it both started from zero.
 */
import { join } from 'node:path';
import type { ClaimResponse } from '@medplum/fhirtypes';
import { privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { LEDGER_ADDRESS_SYSTEM } from '../../src/access/index.js';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import {
  ClaimsService,
  createPatientClaimLease,
  PolicyStore,
  readRecordedInputs,
} from '../../src/claims/index.js';
import { POLICY_JSON, syntheaClaim } from '../../src/claims/synthea-claim.fixture.js';
import { MEMBER_ROLES } from '../../src/ledger/index.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  claimLeaseMigrations,
  SqliteClaimLeaseStore,
} from '../../src/storage/sqlite/sqlite-claim-lease-store.js';
import {
  memberStateMigrations,
  SqliteBenefitPolicyStorage,
} from '../../src/storage/sqlite/sqlite-member-state-store.js';
import { createEnrolledPatient } from '../support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const PAYER = privateKeyToAccount(`0x${'11'.repeat(32)}`).address;
const PROVIDER = privateKeyToAccount(`0x${'22'.repeat(32)}`).address;
const PATIENT_KEY = privateKeyToAccount(`0x${'33'.repeat(32)}`);
const PATIENT = PATIENT_KEY.address;
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const providerSystem: AccessContext = {
  who: 'Device/provider-system',
  purpose: 'HPAYMT',
  roles: [],
  member: PROVIDER,
};

let vault: TestVault | undefined;
afterEach(() => vault?.close());

/** One "process" of the payer: its own service and its own connection to the shared lease table. */
function payerProcess(v: TestVault, holder: string, dbFile: string): ClaimsService {
  const db = openDatabase(dbFile, [...claimLeaseMigrations, ...memberStateMigrations]);
  // The member's published policies, in the database both processes share (decision 0033).
  const policies = new PolicyStore(new SqliteBenefitPolicyStorage(db));
  return new ClaimsService({
    repository: v.repo,
    consent: async () => ({ allowed: true }) as never,
    memberRole: async (address) => (address === PROVIDER ? MEMBER_ROLES.provider : undefined),
    ledger: { anchorDecision: async () => ({}) as never },
    policies,
    payer: PAYER,
    organization: 'Northwind Health Plan',
    commitmentKey: () => new Uint8Array(32).fill(7),
    now: () => new Date('2026-03-20T10:00:00Z'),
    patientLease: createPatientClaimLease({
      store: new SqliteClaimLeaseStore(db),
      holder,
      now: () => Date.parse('2026-03-20T10:00:00Z'),
      // No timer: another attempt once the event loop has turned, as many as the other needs.
      sleep: () => new Promise((resolve) => setImmediate(resolve)),
      waitMs: 1,
      retryMs: 0,
    }),
  });
}

describe('Claim/$submit with several payer processes', () => {
  it("adjudicates one patient's concurrent claims one after the other, the second seeing the first's deductible", async () => {
    vault = await openTestVault(PAYER);
    const v = vault;
    const policyDb = openDatabase(join(v.dir, 'node.db'), memberStateMigrations);
    await new PolicyStore(new SqliteBenefitPolicyStorage(policyDb)).save(POLICY_JSON);
    policyDb.close();
    const patientId = await createEnrolledPatient(
      v.repo,
      { resourceType: 'Patient', name: [{ family: 'Lease', given: ['Pat'] }] },
      PATIENT_KEY,
    );
    await v.repo.create(
      {
        resourceType: 'Coverage',
        status: 'active',
        beneficiary: { reference: `Patient/${patientId}` },
        payor: [{ display: 'Northwind Health Plan' }],
        period: { start: '2026-01-01', end: '2026-12-31' },
      },
      clinician,
    );
    const dbFile = join(v.dir, 'node.db');
    const first = payerProcess(v, 'process-1', dbFile);
    const second = payerProcess(v, 'process-2', dbFile);
    const claim = (date: string, id: string) => ({
      ...syntheaClaim(date, [{ code: '70553', net: 300 }], { id }),
      patient: { identifier: { system: LEDGER_ADDRESS_SYSTEM, value: PATIENT } },
      diagnosis: [
        {
          sequence: 1,
          diagnosisCodeableConcept: {
            coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'M17.11' }],
          },
        },
      ],
    });

    const results = await Promise.all([
      first.submit(claim('2026-03-02', 'a'), providerSystem),
      second.submit(claim('2026-03-03', 'b'), providerSystem),
    ]);

    const decisions = results.map((r) => r.claimResponse as ClaimResponse);
    expect(decisions.map((d) => d.outcome)).toEqual(['complete', 'complete']);
    const met = decisions
      .map((d) => readRecordedInputs(d).inputs)
      .map((i) => [i.accumulatorsBefore.deductibleMetCents, i.accumulatorsAfter.deductibleMetCents])
      .sort((a, b) => (a[0] as number) - (b[0] as number));
    // $300 each against a $500 deductible: the first meets $300 of it, the second the last $200.
    expect(met).toEqual([
      [0, 30_000],
      [30_000, 50_000],
    ]);
  });
});
