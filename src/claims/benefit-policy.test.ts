import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { hashBenefitPolicy, parseBenefitPolicy } from './benefit-policy.js';
import { divideHalfEven, parseCents } from './money.js';
import { POLICY_JSON } from './synthea-claim.fixture.js';

function reasonOf(input: unknown): unknown {
  try {
    parseBenefitPolicy(input);
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    expect((error as CareLedgerError).code).toBe('ERR_INVALID_INPUT');
    return (error as CareLedgerError).details.reason;
  }
  return 'parsed';
}

describe('parseBenefitPolicy', () => {
  it('parses amounts to integer cents and the coinsurance rate to basis points', () => {
    const policy = parseBenefitPolicy(JSON.stringify(POLICY_JSON));
    expect(policy.deductibleCents).toBe(50_000);
    expect(policy.outOfPocketMaxCents).toBe(150_000);
    expect(policy.coinsuranceBasisPoints).toBe(2_000);
    expect(policy.classCopayCents).toEqual({ office: 2_500 });
    expect(policy.services[3]).toEqual({
      system: 'CPT',
      code: '97110',
      copayCents: 1_000,
      allowedCents: 4_000,
      limitPerPeriod: 2,
      priorAuthorization: false,
    });
    expect(policy.priorAuthorizationValidDays).toBe(90);
  });

  it.each([
    ['not-json', '{'],
    ['negative-amount', { ...POLICY_JSON, deductible: -1 }],
    ['invalid-amount', { ...POLICY_JSON, deductible: 10.005 }],
    ['invalid-rate', { ...POLICY_JSON, coinsurance: 1.5 }],
    ['invalid-rate', { ...POLICY_JSON, coinsurance: -0.1 }],
    ['unknown-code-system', { ...POLICY_JSON, services: [{ system: 'LOINC', code: '1234-5' }] }],
    ['unknown-code-system', { ...POLICY_JSON, services: [{ system: 'ICD-10', code: 'M17.11' }] }],
    [
      'duplicate-rule',
      { ...POLICY_JSON, services: [...POLICY_JSON.services, { system: 'CPT', code: '99213', copay: 5 }] },
    ],
    [
      'duplicate-rule',
      { ...POLICY_JSON, diagnoses: [...POLICY_JSON.diagnoses, { system: 'ICD-10', code: 'M17.11' }] },
    ],
    ['unknown-class', { ...POLICY_JSON, services: [{ system: 'CPT', code: '1', class: 'nope' }] }],
    ['invalid-period', { ...POLICY_JSON, effective: { start: '2026-12-31', end: '2026-01-01' } }],
    ['inconsistent-limits', { ...POLICY_JSON, outOfPocketMax: 100 }],
    ['invalid-count', { ...POLICY_JSON, timelyFilingDays: 0 }],
    ['unknown-field', { ...POLICY_JSON, surprise: true }],
    ['missing-field', { ...POLICY_JSON, services: [] }],
  ])('refuses a policy with reason %s', (reason, input) => {
    expect(reasonOf(input)).toBe(reason);
  });

  it('hashes the canonical form, independent of key order in the published JSON', () => {
    const reordered = Object.fromEntries(Object.entries(POLICY_JSON).reverse());
    const a = hashBenefitPolicy(parseBenefitPolicy(POLICY_JSON));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(hashBenefitPolicy(parseBenefitPolicy(JSON.stringify(reordered)))).toBe(a);
    expect(hashBenefitPolicy(parseBenefitPolicy({ ...POLICY_JSON, version: '2026.2' }))).not.toBe(a);
  });
});

describe('money', () => {
  it('converts decimals to cents through their text, without float drift', () => {
    expect(parseCents(0.3, 'x')).toBe(30);
    expect(parseCents(1234.56, 'x')).toBe(123_456);
    expect(parseCents('-0.05', 'x')).toBe(-5);
    expect(() => parseCents(0.1 + 0.2, 'x')).toThrow(CareLedgerError);
  });

  it('rounds ties to even', () => {
    expect([5, 15, 25, 35, 14, 16].map((n) => divideHalfEven(n, 10))).toEqual([0, 2, 2, 4, 1, 2]);
    expect(divideHalfEven(12_500 * 2_000, 10_000)).toBe(2_500);
  });
});
