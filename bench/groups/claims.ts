/**
 * Claims (issue 20, decision 0019): the adjudication engine alone, and end to end at a payer node on
 * the embedded chain: `Claim/$submit` → ClaimResponse (consent, Coverage and earlier decisions read
 * through the vault, decision stored with its EOB, put in the outbox) → anchored on ClaimsRegistry.
 * The submitter is named by the development identity header (`Organization/<provider>`), so SMART
 * token verification is not in the figures.
 */
import type { Claim } from '@medplum/fhirtypes';
import { LEDGER_ADDRESS_SYSTEM } from '../../src/access/index.js';
import { adjudicateClaim, parseBenefitPolicy } from '../../src/claims/index.js';
import { POLICY_JSON, syntheaClaim, syntheaCoverage } from '../../src/claims/synthea-claim.fixture.js';
import { startClaimsPayer } from '../../test/support/start-claims-payer.js';
import { costRatio, durationRatio, measureRate, percentile, rateRatio, sampleMicros } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const DAY = 86_400_000;
const day = (offset: number) => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);

/** The embedded chain's block time: an anchor is mined at the next block. */
const BLOCK_TIME_SECONDS = 1;

async function engineFigures(ctx: GroupContext): Promise<Figure[]> {
  const sha = await ctx.limit('limits.sha256.1k');
  const inputs = {
    claim: syntheaClaim('2026-03-05', [
      { code: '99213', net: 300 },
      { code: '70553', net: 2000 },
      { code: '97110', net: 80, quantity: 2, unitPrice: 40 },
    ]),
    policy: parseBenefitPolicy(POLICY_JSON),
    coverage: syntheaCoverage(),
    accumulators: { deductibleMetCents: 10_000, outOfPocketMetCents: 10_000, usage: {} },
    priorAuthorizations: [],
    seenCommitments: new Set<string>(),
    commitmentKey: new Uint8Array(32).fill(1),
    receivedAt: '2026-03-20T10:00:00Z',
  };
  const rate = measureRate(() => adjudicateClaim(inputs), ctx.options.quick ? 500 : 3000, 16);
  return [
    {
      group: 'claims',
      id: 'claims.engine.rate',
      label: 'adjudication engine alone (3-line claim, commitment included)',
      value: rate.perSecond,
      unit: 'claims/s',
      extra: { ops: rate.ops },
      // The engine's one cryptographic step is the keyed commitment (HMAC-SHA-256 over the claim).
      ratios: [rateRatio(rate.perSecond, sha, 'raw SHA-256 (1 KiB) rate')],
    },
  ];
}

export const claimsGroup: Group = {
  name: 'claims',
  description: 'claims: the adjudication engine alone, and submit → ClaimResponse → anchored at a payer node',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const figures = await engineFigures(ctx);
    const sqliteCommit = await ctx.limit('limits.sqlite.commit');
    const secpSign = await ctx.limit('limits.secp256k1.sign');
    const engineMicros = await sampleMicros(ctx.options.quick ? 200 : 2000, () => {
      adjudicateClaim({
        claim: syntheaClaim('2026-03-05', [{ code: '99213', net: 300 }]),
        policy: parseBenefitPolicy(POLICY_JSON),
        coverage: syntheaCoverage(),
        accumulators: { deductibleMetCents: 0, outOfPocketMetCents: 0, usage: {} },
        priorAuthorizations: [],
        seenCommitments: new Set(),
        commitmentKey: new Uint8Array(32).fill(1),
        receivedAt: '2026-03-20T10:00:00Z',
      });
    });
    figures.push({
      group: 'claims',
      id: 'claims.engine.latency',
      label: 'adjudication engine alone, one claim (policy parsed each time)',
      value: percentile(engineMicros, 50),
      p99: percentile(engineMicros, 99),
      unit: 'µs',
      ratios: [],
    });

    ctx.progress('claims: starting a payer node on the embedded chain');
    const payer = await startClaimsPayer();
    const unregister = ctx.onInterrupt(() => payer.stop());
    try {
      const policy = { ...POLICY_JSON, version: 'bench.1', effective: { start: day(-300), end: day(300) } };
      const published = await payer.request('/admin/claims/policies', {
        method: 'POST',
        headers: { authorization: `Bearer ${payer.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(policy),
      });
      if (published.status !== 201) throw new Error(`policy not published: ${published.status}`);
      const patients = [];
      for (let i = 0; i < (ctx.options.quick ? 2 : 5); i++)
        patients.push(await payer.newMember({ period: { start: day(-300), end: day(300) } }));
      const claims = ctx.options.quick ? 20 : 200;
      const submitLatency: number[] = [];
      const started = performance.now();
      for (let i = 0; i < claims; i++) {
        const patient = patients[i % patients.length] as { address: string };
        // Distinct claims: a different service date and amount each time, within the filing window.
        const claim: Claim = syntheaClaim(day(-1 - (i % 60)), [{ code: '99213', net: 100 + i }], {
          patient: { identifier: { system: LEDGER_ADDRESS_SYSTEM, value: patient.address } },
        });
        const t0 = performance.now();
        const response = await payer.request('/fhir/Claim/$submit', {
          method: 'POST',
          headers: {
            'x-careledger-identity': `Organization/${payer.provider.address}`,
            'content-type': 'application/fhir+json',
          },
          body: JSON.stringify(claim),
        });
        const body = (await response.json()) as { outcome?: string };
        if (response.status !== 200 || body.outcome !== 'complete')
          throw new Error(`claim ${i} not adjudicated: ${response.status} ${body.outcome}`);
        submitLatency.push(performance.now() - t0);
      }
      const answered = performance.now();
      await payer.node.ledger.outbox.drain(120_000);
      const anchored = performance.now();
      figures.push(
        {
          group: 'claims',
          id: 'claims.submit.latency',
          label: 'Claim/$submit → ClaimResponse (one at a time)',
          value: percentile(submitLatency, 50),
          p99: percentile(submitLatency, 99),
          unit: 'ms',
          extra: { claims },
          // Three durable vault writes (Claim, ClaimResponse, EOB), each a log entry and a commit.
          ratios: [
            costRatio(percentile(submitLatency, 50) / 1000, sqliteCommit, 'SQLite single-commit time'),
          ],
        },
        {
          group: 'claims',
          id: 'claims.submit.rate',
          label: 'claims answered per second (sequential submitter)',
          value: claims / ((answered - started) / 1000),
          unit: 'claims/s',
          ratios: [],
        },
        {
          group: 'claims',
          id: 'claims.anchored.rate',
          label: 'claims submitted, answered and anchored (mined) per second, end to end',
          value: claims / ((anchored - started) / 1000),
          unit: 'claims/s',
          extra: { drainSeconds: Number(((anchored - answered) / 1000).toFixed(2)) },
          ratios: [
            rateRatio(claims / ((anchored - started) / 1000), secpSign, 'raw secp256k1 signing rate'),
            durationRatio(
              (anchored - answered) / 1000,
              BLOCK_TIME_SECONDS,
              'block time, outbox drained after the last answer',
            ),
          ],
          note: 'chain writes: one anchorDecision transaction per claim through the node outbox (embedded anvil, 1 s blocks)',
        },
      );
    } finally {
      unregister();
      await payer.stop();
    }
    return { figures, charts: [], notes: [] };
  },
};
