import type { Claim, ClaimResponse } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../fhir/canonical-json.js';
import { type Accumulators, type AdjudicationInputs, adjudicateClaim } from './adjudicate-claim.js';
import { parseBenefitPolicy } from './benefit-policy.js';
import { claimCommitment } from './claim-commitment.js';
import {
  POLICY_JSON,
  SNOMED,
  syntheaClaim,
  syntheaCoverage,
  syntheaWellnessClaim,
} from './synthea-claim.fixture.js';

const KEY = new Uint8Array(32).fill(7);
const POLICY = parseBenefitPolicy(POLICY_JSON);
const EMPTY: Accumulators = { deductibleMetCents: 0, outOfPocketMetCents: 0, usage: {} };

function inputs(claim: Claim, overrides: Partial<AdjudicationInputs> = {}): AdjudicationInputs {
  return {
    claim,
    policy: POLICY,
    coverage: syntheaCoverage(),
    accumulators: EMPTY,
    priorAuthorizations: [],
    seenCommitments: new Set(),
    commitmentKey: KEY,
    receivedAt: '2026-03-20T10:00:00Z',
    ...overrides,
  };
}

/** category → amount of one item (or of the totals when no sequence is given). */
function amounts(response: ClaimResponse, itemSequence?: number): Record<string, number | undefined> {
  const rows =
    itemSequence === undefined
      ? (response.total ?? [])
      : (response.item?.find((i) => i.itemSequence === itemSequence)?.adjudication ?? []);
  return Object.fromEntries(rows.map((row) => [row.category.coding?.[0]?.code, row.amount?.value]));
}

function reason(response: ClaimResponse, itemSequence: number): string | undefined {
  const item = response.item?.find((i) => i.itemSequence === itemSequence);
  return item?.adjudication.find((a) => a.reason)?.reason?.coding?.[0]?.code;
}

describe('adjudicateClaim: deductible, then coinsurance, then the out-of-pocket cap', () => {
  it('walks one member through a plan year of four claims', () => {
    // 1. Office visit $300, class copay $25: the rest goes to the $500 deductible.
    const first = adjudicateClaim(inputs(syntheaClaim('2026-03-02', [{ code: '99213', net: 300 }])));
    expect(first.claimResponse.outcome).toBe('complete');
    expect(amounts(first.claimResponse, 1)).toEqual({
      submitted: 300,
      eligible: 300,
      copay: 25,
      deductible: 275,
      coinsurance: 0,
      benefit: 0,
    });
    expect(first.accumulators).toEqual({
      deductibleMetCents: 27_500,
      outOfPocketMetCents: 30_000,
      usage: { 'CPT|99213': 1 },
    });

    // 2. MRI $2000: $225 finishes the deductible, 20% of the remaining $1775 is $355.
    const second = adjudicateClaim(
      inputs(syntheaClaim('2026-03-05', [{ code: '70553', net: 2000 }]), {
        accumulators: first.accumulators,
      }),
    );
    expect(amounts(second.claimResponse, 1)).toEqual({
      submitted: 2000,
      eligible: 2000,
      copay: 0,
      deductible: 225,
      coinsurance: 355,
      benefit: 1420,
    });
    expect(second.claimResponse.payment?.amount).toEqual({ value: 1420, currency: 'USD' });
    expect(second.accumulators.outOfPocketMetCents).toBe(88_000);

    // 3. Knee replacement $5000 after its preauthorization: 20% would be $1000, capped at the $620 left.
    const knee = syntheaClaim('2026-03-10', [{ code: '27447', net: 5000, diagnosisSequence: [2] }], {
      use: 'preauthorization',
    });
    const preauth = adjudicateClaim(
      inputs(knee, { receivedAt: '2026-02-01T09:00:00Z', accumulators: second.accumulators }),
    );
    expect(preauth.claimResponse.use).toBe('preauthorization');
    expect(preauth.claimResponse.preAuthRef).toMatch(/^PA-[0-9a-f]{32}$/);
    expect(preauth.claimResponse.preAuthPeriod).toEqual({ start: '2026-03-10', end: '2026-06-08' });
    expect(preauth.claimResponse.payment).toBeUndefined();
    expect(preauth.accumulators).toEqual(second.accumulators);

    const kneeClaim = syntheaClaim('2026-03-10', [{ code: '27447', net: 5000, diagnosisSequence: [2] }], {
      insurance: [
        {
          sequence: 1,
          focal: true,
          coverage: { display: 'private' },
          preAuthRef: [preauth.claimResponse.preAuthRef ?? ''],
        },
      ],
    });
    const third = adjudicateClaim(
      inputs(kneeClaim, { accumulators: second.accumulators, priorAuthorizations: [preauth.claimResponse] }),
    );
    expect(amounts(third.claimResponse, 1)).toEqual({
      submitted: 5000,
      eligible: 5000,
      copay: 0,
      deductible: 0,
      coinsurance: 620,
      benefit: 4380,
    });
    expect(third.accumulators.outOfPocketMetCents).toBe(150_000);

    // 4. Past the cap the plan pays everything, copay included.
    const fourth = adjudicateClaim(
      inputs(syntheaClaim('2026-03-12', [{ code: '99213', net: 300 }]), { accumulators: third.accumulators }),
    );
    expect(amounts(fourth.claimResponse, 1)).toMatchObject({
      copay: 0,
      deductible: 0,
      coinsurance: 0,
      benefit: 300,
    });
    expect(fourth.accumulators).toEqual({
      deductibleMetCents: 50_000,
      outOfPocketMetCents: 150_000,
      usage: { 'CPT|27447': 1, 'CPT|70553': 1, 'CPT|99213': 2 },
    });
  });

  it('applies fee-schedule limits, per-code limits per period and sums totals over items', () => {
    const met: Accumulators = {
      deductibleMetCents: 50_000,
      outOfPocketMetCents: 50_000,
      usage: { 'CPT|97110': 1 },
    };
    const claim = syntheaClaim('2026-03-02', [
      { code: '97110', net: 60, quantity: 1, unitPrice: 60 },
      { code: '97110', net: 60 },
      { code: '185349003', system: SNOMED, net: 1.25 },
    ]);
    const { claimResponse, accumulators } = adjudicateClaim(inputs(claim, { accumulators: met }));
    // allowed $40, copay $10, 20% of $30 = $6.
    expect(amounts(claimResponse, 1)).toEqual({
      submitted: 60,
      eligible: 40,
      copay: 10,
      deductible: 0,
      coinsurance: 6,
      benefit: 24,
    });
    expect(reason(claimResponse, 2)).toBe('ar002');
    expect(amounts(claimResponse, 2)).toMatchObject({ eligible: 0, benefit: 0 });
    // 20% of 125 cents is 25 cents exactly; 1.35 below shows the half-even tie.
    expect(amounts(claimResponse, 3)).toMatchObject({ coinsurance: 0.25, benefit: 1 });
    expect(amounts(claimResponse)).toEqual({
      submitted: 121.25,
      eligible: 41.25,
      copay: 10,
      deductible: 0,
      coinsurance: 6.25,
      benefit: 25,
    });
    expect(accumulators.usage).toEqual({ 'CPT|97110': 2, 'SNOMED|185349003': 1 });

    // At 10% coinsurance 125 cents gives a tie at 12.5 (→ 12, even) and 135 at 13.5 (→ 14, even).
    const tenPercent = parseBenefitPolicy({ ...POLICY_JSON, coinsurance: '0.1' });
    const coinsuranceOn = (net: number) =>
      amounts(
        adjudicateClaim(
          inputs(syntheaClaim('2026-03-02', [{ code: '70553', net }]), {
            accumulators: met,
            policy: tenPercent,
          }),
        ).claimResponse,
        1,
      ).coinsurance;
    expect([1.25, 1.35, 1.26, 0.05, 0.15].map(coinsuranceOn)).toEqual([0.12, 0.14, 0.13, 0, 0.02]);
  });
});

describe('adjudicateClaim: refusals carry their reason and pay nothing', () => {
  const visit = () => syntheaClaim('2026-03-02', [{ code: '99213', net: 300 }]);
  const withItem = (patch: Record<string, unknown>): Claim => {
    const claim = visit();
    return { ...claim, item: [{ ...(claim.item?.[0] as NonNullable<Claim['item']>[number]), ...patch }] };
  };
  const cases: [string, () => AdjudicationInputs][] = [
    ['no-coverage', () => inputs(visit(), { coverage: undefined })],
    ['coverage-inactive', () => inputs(visit(), { coverage: { ...syntheaCoverage(), status: 'cancelled' } })],
    [
      'coverage-mismatch',
      () =>
        inputs(visit(), { coverage: { ...syntheaCoverage(), beneficiary: { reference: 'Patient/other' } } }),
    ],
    [
      'outside-coverage-period',
      () => inputs(visit(), { coverage: { ...syntheaCoverage(), period: { start: '2026-04-01' } } }),
    ],
    [
      'outside-policy-period',
      () =>
        inputs(syntheaClaim('2025-12-30', [{ code: '99213', net: 300 }]), {
          coverage: { ...syntheaCoverage(), period: { start: '2025-01-01' } },
        }),
    ],
    ['filing-window-exceeded', () => inputs(visit(), { receivedAt: '2026-06-01T00:00:00Z' })],
    ['service-after-receipt', () => inputs(visit(), { receivedAt: '2026-03-01T23:59:00Z' })],
    ['missing-service-date', () => inputs({ ...visit(), billablePeriod: undefined })],
    [
      'duplicate',
      () =>
        inputs(visit(), {
          seenCommitments: new Set([claimCommitment({ ...visit(), id: 'resubmitted' }, KEY)]),
        }),
    ],
    ['negative-amount', () => inputs(withItem({ net: { value: -300, currency: 'USD' } }), {})],
    [
      'inconsistent-amounts',
      () => inputs(withItem({ quantity: { value: 2 }, unitPrice: { value: 100, currency: 'USD' } })),
    ],
    ['inconsistent-amounts', () => inputs({ ...visit(), total: { value: 299.99, currency: 'USD' } })],
    ['inconsistent-amounts', () => inputs(withItem({ net: { value: 300.001, currency: 'USD' } }))],
    ['currency-mismatch', () => inputs(withItem({ net: { value: 300, currency: 'EUR' } }))],
    [
      'unknown-code-system',
      () =>
        inputs({
          ...visit(),
          diagnosis: [
            { sequence: 1, diagnosisCodeableConcept: { coding: [{ system: 'urn:x', code: '1' }] } },
          ],
        }),
    ],
  ];
  it.each(cases)('refuses with %s', (code, make) => {
    const { claimResponse, accumulators } = adjudicateClaim(make());
    expect(claimResponse.outcome).toBe('error');
    expect(claimResponse.error?.[0]?.code.coding?.[0]).toEqual({
      system: 'https://careledger.dev/fhir/CodeSystem/claim-error',
      code,
    });
    expect(claimResponse.payment?.amount?.value).toBe(0);
    expect(claimResponse.item).toBeUndefined();
    expect(accumulators).toEqual(EMPTY);
  });

  it('accepts the same visit when every check passes (the cases above differ by one thing)', () => {
    expect(adjudicateClaim(inputs(visit())).claimResponse.outcome).toBe('complete');
  });

  it('denies single items: unknown code system, not covered, diagnosis not covered, prior authorization missing', () => {
    const claim = syntheaClaim('2026-03-02', [
      { code: '1234-5', system: 'http://loinc.org', net: 10 },
      { code: '99999', net: 20 },
      { code: '70553', net: 30, diagnosisSequence: [3] },
      { code: '27447', net: 40 },
      { code: '99213', net: 50, diagnosisSequence: [1, 2] },
    ]);
    const diagnosis = [
      ...(claim.diagnosis ?? []),
      { sequence: 3, diagnosisCodeableConcept: { coding: [{ system: SNOMED, code: '271737000' }] } },
    ];
    const { claimResponse, accumulators } = adjudicateClaim(inputs({ ...claim, diagnosis }));
    expect(claimResponse.outcome).toBe('complete');
    expect([1, 2, 3, 4, 5].map((seq) => reason(claimResponse, seq))).toEqual([
      'unknown-code-system',
      'ar001',
      'diagnosis-not-covered',
      'preauth-missing',
      undefined,
    ]);
    expect(claimResponse.disposition).toBe('adjudicated: 4 of 5 items denied');
    expect(accumulators.usage).toEqual({ 'CPT|99213': 1 });
  });

  it('does not accept a preauthorization that is not cited, is for another code or has expired', () => {
    const knee = (date: string, code = '27447') =>
      syntheaClaim(date, [{ code, net: 5000 }], { use: 'preauthorization' });
    const preauth = adjudicateClaim(
      inputs(knee('2026-03-10'), { receivedAt: '2026-02-01T00:00:00Z' }),
    ).claimResponse;
    const cite = (claim: Claim, ref = preauth.preAuthRef ?? ''): Claim => ({
      ...claim,
      insurance: [{ sequence: 1, focal: true, coverage: { display: 'private' }, preAuthRef: [ref] }],
    });
    const kneeClaim = (date: string) => syntheaClaim(date, [{ code: '27447', net: 5000 }]);
    const run = (claim: Claim, receivedAt = '2026-09-01T00:00:00Z') =>
      reason(adjudicateClaim(inputs(claim, { priorAuthorizations: [preauth], receivedAt })).claimResponse, 1);
    expect(run(cite(kneeClaim('2026-06-08')))).toBeUndefined();
    expect(run(kneeClaim('2026-06-08'))).toBe('preauth-missing');
    expect(run(cite(kneeClaim('2026-06-08'), 'PA-other'))).toBe('preauth-missing');
    expect(run(cite(kneeClaim('2026-06-09')))).toBe('preauth-missing');
    const wrongCode = adjudicateClaim(
      inputs(knee('2026-03-10', '70553'), { receivedAt: '2026-02-01T00:00:00Z' }),
    ).claimResponse;
    const withWrong = adjudicateClaim(
      inputs(cite(kneeClaim('2026-03-10'), wrongCode.preAuthRef), { priorAuthorizations: [wrongCode] }),
    );
    expect(reason(withWrong.claimResponse, 1)).toBe('preauth-missing');
  });
});

describe('adjudicateClaim: Synthea claims as generated', () => {
  it('prices the unpriced encounter line at total minus the priced lines', () => {
    const { claimResponse } = adjudicateClaim(inputs(syntheaWellnessClaim()));
    expect(claimResponse.outcome).toBe('complete');
    expect(amounts(claimResponse, 1)).toEqual({
      submitted: 125,
      eligible: 125,
      copay: 0,
      deductible: 125,
      coinsurance: 0,
      benefit: 0,
    });
    expect(amounts(claimResponse, 2)).toEqual({
      submitted: 140.52,
      eligible: 140.52,
      copay: 0,
      deductible: 140.52,
      coinsurance: 0,
      benefit: 0,
    });
    expect(amounts(claimResponse).submitted).toBe(265.52);
  });

  it('refuses a total below the priced lines', () => {
    const claim = { ...syntheaWellnessClaim(), total: { value: 100, currency: 'USD' as const } };
    expect(adjudicateClaim(inputs(claim)).claimResponse.error?.[0]?.code.coding?.[0]?.code).toBe(
      'inconsistent-amounts',
    );
  });
});

describe('adjudicateClaim: determinism', () => {
  it('gives byte-identical output for the same inputs, whatever their key order', () => {
    const claim = syntheaClaim('2026-03-02', [
      { code: '99213', net: 300 },
      { code: '70553', net: 1234.57 },
    ]);
    const reordered = JSON.parse(canonicalJson(claim)) as Claim;
    const a = adjudicateClaim(inputs(claim));
    const b = adjudicateClaim(inputs(reordered, { policy: parseBenefitPolicy(JSON.stringify(POLICY_JSON)) }));
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(a.claimResponse.request?.identifier?.value).toBe(a.commitment);
  });

  it('keys the commitment: another key gives another commitment', () => {
    const claim = syntheaClaim('2026-03-02', [{ code: '99213', net: 300 }]);
    expect(claimCommitment(claim, KEY)).not.toBe(claimCommitment(claim, new Uint8Array(32).fill(8)));
    expect(claimCommitment(claim, KEY)).toBe(
      claimCommitment({ ...claim, id: 'x', meta: { versionId: '2' } }, KEY),
    );
    expect(() => claimCommitment(claim, new Uint8Array(16))).toThrow(/at least 32 bytes/);
  });
});
