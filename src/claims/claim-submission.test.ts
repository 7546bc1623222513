import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { claimCategories, parseClaimSubmission } from './claim-submission.js';
import { syntheaClaim } from './synthea-claim.fixture.js';

const LEDGER = 'https://careledger.dev/fhir/sid/ledger-address';
const ADDRESS = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';
const claim = syntheaClaim('2026-03-05', [{ code: '99213', net: 300 }], {
  patient: { identifier: { system: LEDGER, value: ADDRESS.toLowerCase() } },
});

function reason(body: unknown): unknown {
  try {
    parseClaimSubmission(body);
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    return (error as CareLedgerError).details.reason ?? (error as CareLedgerError).code;
  }
  return 'parsed';
}

describe('parseClaimSubmission', () => {
  it('takes a Claim naming the patient by ledger address, or a Bundle with the Claim first', () => {
    expect(parseClaimSubmission(claim).patientAddress).toBe(ADDRESS);
    const bundled = parseClaimSubmission({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:4f7c3b5e-9a41-4d0e-8c55-2b1e6f0a9d11',
          resource: { ...claim, patient: { reference: 'urn:uuid:8e2d6a90-1c3b-4f5e-a7d8-0b9c1e2f3a45' } },
        },
        {
          fullUrl: 'urn:uuid:8e2d6a90-1c3b-4f5e-a7d8-0b9c1e2f3a45',
          resource: { resourceType: 'Patient', identifier: [{ system: LEDGER, value: ADDRESS }] },
        },
      ],
    });
    expect(bundled.patientAddress).toBe(ADDRESS);
    expect(bundled.claim.resourceType).toBe('Claim');
  });

  it('refuses what is not a claim submission, with a reason', () => {
    expect(reason({ resourceType: 'Patient' })).toBe('not-a-claim');
    expect(
      reason({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: { resourceType: 'Patient' } }],
      }),
    ).toBe('claim-not-first');
    expect(reason({ ...claim, use: 'predetermination' })).toBe('unsupported-use');
    expect(reason({ ...claim, patient: { reference: 'Patient/1' } })).toBe('patient-unidentified');
    expect(reason({ ...claim, patient: { identifier: { system: LEDGER, value: 'not-an-address' } } })).toBe(
      'patient-unidentified',
    );
    expect(reason({ resourceType: 'Claim', status: 'not-a-status' })).toBe('ERR_INVALID_INPUT');
  });

  it('names the categories a claim discloses, sensitive labels included', () => {
    expect(claimCategories(claim).sort()).toEqual(['conditions', 'financial', 'procedures']);
    const labelled = {
      ...claim,
      meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HIV' }] },
    };
    expect(claimCategories(labelled)).toContain('hiv');
    expect(claimCategories({ ...claim, diagnosis: [], item: [] })).toEqual(['financial']);
  });
});
