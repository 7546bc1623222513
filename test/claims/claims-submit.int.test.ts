/**
 * Claims at a payer member (issue 20), with a real chain and the payer node in-process: a provider
 * member submits FHIR Claims with SMART Backend Services; the payer checks consent (HPAYMT), its own
 * Coverage, duplicates and the filing window, adjudicates against the published policy, stores the
 * Claim, ClaimResponse and the patient's ExplanationOfBenefit and anchors the decision on
 * ClaimsRegistry; anyone holding the claim re-runs it (verifyClaimDecision), and an altered decision
 * is caught.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Claim, ClaimResponse, ExplanationOfBenefit } from '@medplum/fhirtypes';
import { keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER_ADDRESS_SYSTEM } from '../../src/access/index.js';
import { createChainClient } from '../../src/chain/index.js';
import {
  type AnchoredRecord,
  ClaimsLedger,
  decisionCommitment,
  disputeClaim,
  memberLiabilityOf,
  parseBenefitPolicy,
  publishPolicy,
  resolveDispute,
  settleClaim,
  submitClaim,
  verifyClaim,
  verifyClaimDecision,
} from '../../src/claims/index.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import type { CareLedgerError } from '../../src/errors/index.js';
import { type ClaimsPayer, startClaimsPayer } from '../support/start-claims-payer.js';

const DAY = 86_400_000;
/** Dates relative to the node's clock (the filing window counts from when the payer receives a claim). */
const day = (offset: number) => new Date(Date.now() + offset * DAY).toISOString().slice(0, 10);
const CPT = 'http://www.ama-assn.org/go/cpt';
const POLICY = {
  payerId: 'northwind',
  version: 'test.1',
  effective: { start: day(-300), end: day(300) },
  currency: 'USD',
  coinsurance: 0.2,
  deductible: '100.00',
  outOfPocketMax: 1500,
  timelyFilingDays: 90,
  classCopay: { office: 25 },
  services: [
    { system: 'CPT', code: '99213', class: 'office' },
    { system: 'CPT', code: '70553' },
    { system: 'CPT', code: '27447', priorAuthorization: true },
  ],
};
const staff = (who: string, roles: string) => ({
  'x-careledger-identity': who,
  'x-careledger-roles': roles,
  'content-type': 'application/fhir+json',
});
const CLINICIAN = staff('Practitioner/dr-payer', 'clinician');

let payer: ClaimsPayer;
let token: string;
let chainLedger: ClaimsLedger;

interface TestPatient {
  id: string;
  address: `0x${string}`;
}

async function json<T>(response: Response | Promise<Response>): Promise<{ status: number; body: T }> {
  const r = await response;
  return { status: r.status, body: (await r.json()) as T };
}

/** A patient at the payer with a ledger key, optionally with Coverage and an HPAYMT grant to the payer. */
function newPatient(options: { coverage?: boolean; consent?: boolean }): Promise<TestPatient> {
  return payer.newMember({ ...options, period: { start: day(-300), end: day(300) } });
}

function claimFor(
  patient: TestPatient,
  serviceDate: string,
  lines: [string, number][],
  extra: Partial<Claim> = {},
): Claim {
  const total = lines.reduce((sum, [, net]) => sum + Math.round(net * 100), 0) / 100;
  return {
    resourceType: 'Claim',
    status: 'active',
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { identifier: { system: LEDGER_ADDRESS_SYSTEM, value: patient.address } },
    billablePeriod: { start: serviceDate, end: serviceDate },
    created: `${serviceDate}T10:00:00Z`,
    provider: { display: 'Riverside Clinic' },
    priority: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/processpriority', code: 'normal' }],
    },
    diagnosis: [
      {
        sequence: 1,
        diagnosisCodeableConcept: {
          coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'M17.11' }],
        },
      },
    ],
    insurance: [{ sequence: 1, focal: true, coverage: { display: 'Northwind' } }],
    item: lines.map(([code, net], index) => ({
      sequence: index + 1,
      diagnosisSequence: [1],
      productOrService: { coding: [{ system: CPT, code }] },
      net: { value: net, currency: 'USD' },
    })),
    total: { value: total, currency: 'USD' },
    ...extra,
  };
}

function submit(body: unknown, bearer = token) {
  return json<ClaimResponse & { issue?: unknown[] }>(
    payer.request('/fhir/Claim/$submit', {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/fhir+json' },
      body: JSON.stringify(body),
    }),
  );
}

const errorCode = (response: ClaimResponse) => response.error?.[0]?.code.coding?.[0]?.code;
const commitmentOf = (response: ClaimResponse) => response.request?.identifier?.value as string;

async function anchored(commitment: string) {
  await payer.node.ledger.outbox.drain(30_000);
  return chainLedger.decision(commitment);
}

async function commitmentKey(): Promise<Uint8Array> {
  const { body } = await json<{ key: string }>(
    payer.request('/claims/commitment-key', { headers: { authorization: `Bearer ${token}` } }),
  );
  return Buffer.from(body.key, 'hex');
}

/** The verifier's view: the ledger's record of a claim commitment and the policy version it names. */
async function anchoredRecord(commitment: string) {
  const decision = await chainLedger.decision(commitment);
  if (decision === undefined) return undefined;
  const policy = await chainLedger.policy(decision.payer, POLICY.version);
  expect(decision.policyVersionHash).toBe(keccak256(toHex(POLICY.version)));
  return { decisionCommitment: decision.decisionCommitment, policyHash: policy?.policyHash ?? '' };
}

beforeAll(async () => {
  payer = await startClaimsPayer();
  chainLedger = new ClaimsLedger(
    payer.deployment,
    undefined,
    createChainClient(payer.node.config.chain.rpcUrl, 31337),
  );
  const refused = await payer.request('/admin/claims/policies', {
    method: 'POST',
    headers: { authorization: `Bearer ${payer.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...POLICY, coinsurance: 1.5 }),
  });
  expect(refused.status).toBe(400);
  const published = await payer.request('/admin/claims/policies', {
    method: 'POST',
    headers: { authorization: `Bearer ${payer.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(POLICY),
  });
  expect(published.status).toBe(201);
  token = await payer.providerToken();
}, 120_000);

afterAll(async () => {
  await payer?.stop();
});

describe('Claim/$submit at a payer member', () => {
  it('adjudicates a consented, covered claim, anchors the decision and gives the patient an EOB', async () => {
    const patient = await newPatient({});
    const { status, body } = await submit(
      claimFor(patient, day(-10), [
        ['99213', 150],
        ['70553', 900],
      ]),
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({
      resourceType: 'ClaimResponse',
      outcome: 'complete',
      patient: { reference: `Patient/${patient.id}` },
    });
    expect(body.id).toBeTypeOf('string');
    // 99213: copay 25, deductible 100, coinsurance 20% of 25 = 5 → benefit 20; 70553: 20% of 900 → 720.
    expect(body.payment?.amount?.value).toBe(740);
    const decision = await anchored(commitmentOf(body));
    expect(decision).toMatchObject({
      provider: payer.provider.address,
      amountDueCents: 74_000n,
      currency: 'USD',
      status: 'anchored',
    });
    const key = await commitmentKey();
    expect(decision?.decisionCommitment).toBe(`0x${decisionCommitment(body, key)}`);

    // The patient sees the EOB in their own records, with what they owe (25 + 100 + 5 + 180).
    const eobs = await json<{ entry?: { resource: ExplanationOfBenefit }[] }>(
      payer.request(`/fhir/ExplanationOfBenefit?patient=Patient/${patient.id}`, {
        headers: { 'x-careledger-identity': `Patient/${patient.id}` },
      }),
    );
    expect(eobs.status).toBe(200);
    const eob = eobs.body.entry?.[0]?.resource as ExplanationOfBenefit;
    expect(eob.identifier?.[0]?.value).toBe(commitmentOf(body));
    expect(memberLiabilityOf(eob)).toBe(31_000);
    expect(eob.payment?.amount?.value).toBe(740);
    // …and in $everything, which the portal's timeline lists (under "Claims and what you owe").
    const everything = await json<{ entry?: { resource: { resourceType: string } }[] }>(
      payer.request(`/fhir/Patient/${patient.id}/$everything`, {
        headers: { 'x-careledger-identity': `Patient/${patient.id}` },
      }),
    );
    expect(everything.body.entry?.map((e) => e.resource.resourceType)).toContain('ExplanationOfBenefit');
    // The payer's accesses to the patient's data for the claim are in the patient's access history.
    const history = await json<{ entry?: { resource: { agent?: { who?: { reference?: string } }[] } }[] }>(
      payer.request(`/fhir/AuditEvent?patient=Patient/${patient.id}`, {
        headers: { 'x-careledger-identity': `Patient/${patient.id}` },
      }),
    );
    const agents = (history.body.entry ?? []).flatMap((e) =>
      (e.resource.agent ?? []).map((a) => a.who?.reference),
    );
    expect(agents).toContain('Practitioner/claims-adjudicator');

    // The provider re-runs the adjudication from the claim, the published policy and the ledger.
    const policyJson = await json<unknown>(payer.request(`/claims/policies/${POLICY.version}`));
    const policy = parseBenefitPolicy(policyJson.body);
    const claim = claimFor(patient, day(-10), [
      ['99213', 150],
      ['70553', 900],
    ]);
    await expect(
      verifyClaimDecision({ claim, policy, response: body, commitmentKey: key, anchored: anchoredRecord }),
    ).resolves.toEqual({ claimCommitment: commitmentOf(body) });

    // A decision altered after anchoring is caught, and so is a payer that anchored a wrong one.
    const altered = structuredClone(body);
    (altered.payment as { amount: { value: number } }).amount.value = 700;
    const reason = async (
      response: ClaimResponse,
      record: (c: string) => Promise<AnchoredRecord | undefined> = anchoredRecord,
    ) =>
      verifyClaimDecision({ claim, policy, response, commitmentKey: key, anchored: record }).then(
        () => 'verified',
        (error: CareLedgerError) =>
          `${error.details.reason}${error.details.path ? ` ${error.details.path}` : ''}`,
      );
    expect(await reason(altered)).toBe('decision-altered');
    const selfConsistent = async (c: string) => {
      const record = await anchoredRecord(c);
      return record && { ...record, decisionCommitment: decisionCommitment(altered, key) };
    };
    expect(await reason(altered, selfConsistent)).toBe(
      'adjudication-mismatch ClaimResponse.payment.amount.value',
    );

    // The same claim again is a duplicate: refused, nothing new anchored.
    const again = await submit(claim);
    expect(again.body).toMatchObject({ outcome: 'error' });
    expect(errorCode(again.body)).toBe('duplicate');
    expect((await anchored(commitmentOf(body)))?.decisionCommitment).toBe(decision?.decisionCommitment);
  });

  it('refuses without consent, without coverage and after the filing window, paying and anchoring nothing', async () => {
    const noConsent = await newPatient({ consent: false });
    const refused = await submit(claimFor(noConsent, day(-10), [['99213', 150]]));
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ outcome: 'error', payment: { amount: { value: 0 } } });
    expect(errorCode(refused.body)).toBe('consent-missing');
    expect(refused.body.request).toBeUndefined();
    const stored = await json<{ total?: number }>(
      payer.request(`/fhir/ClaimResponse?patient=Patient/${noConsent.id}&_summary=count`, {
        headers: CLINICIAN,
      }),
    );
    expect(stored.body.total).toBe(0);

    const noCoverage = await newPatient({ coverage: false });
    const uncovered = await submit(claimFor(noCoverage, day(-10), [['99213', 150]]));
    expect(errorCode(uncovered.body)).toBe('no-coverage');
    expect(await anchored(commitmentOf(uncovered.body))).toBeUndefined();

    const late = await newPatient({});
    const tooLate = await submit(claimFor(late, day(-120), [['99213', 150]]));
    expect(errorCode(tooLate.body)).toBe('filing-window-exceeded');
    expect(tooLate.body.payment?.amount?.value).toBe(0);
    expect(await anchored(commitmentOf(tooLate.body))).toBeUndefined();

    const inconsistent = await submit(
      claimFor(late, day(-5), [['99213', 150]], { total: { value: 999, currency: 'USD' } }),
    );
    expect(errorCode(inconsistent.body)).toBe('inconsistent-amounts');
  });

  it('checks a claim needing prior authorization against the preauthorization the payer gave', async () => {
    const patient = await newPatient({});
    const knee = (use: 'claim' | 'preauthorization', preAuthRef?: string) =>
      claimFor(patient, day(-3), [['27447', 5000]], {
        use,
        insurance: [
          {
            sequence: 1,
            focal: true,
            coverage: { display: 'Northwind' },
            ...(preAuthRef ? { preAuthRef: [preAuthRef] } : {}),
          },
        ],
      });
    const unauthorised = await submit(knee('claim'));
    expect(unauthorised.body.item?.[0]?.adjudication[0]?.reason?.coding?.[0]?.code).toBe('preauth-missing');
    expect(unauthorised.body.payment?.amount?.value).toBe(0);

    const preauth = await submit(knee('preauthorization'));
    expect(preauth.body).toMatchObject({ use: 'preauthorization', outcome: 'complete' });
    const ref = preauth.body.preAuthRef as string;
    expect(ref).toMatch(/^PA-[0-9a-f]{32}$/);
    expect((await anchored(commitmentOf(preauth.body)))?.amountDueCents).toBe(0n);

    const authorised = await submit(knee('claim', ref));
    expect(authorised.body.outcome).toBe('complete');
    expect(authorised.body.payment?.amount?.value).toBeGreaterThan(0);
    const policy = parseBenefitPolicy(
      (await json<unknown>(payer.request(`/claims/policies/${POLICY.version}`))).body,
    );
    await expect(
      verifyClaimDecision({
        claim: knee('claim', ref),
        policy,
        response: authorised.body,
        commitmentKey: await commitmentKey(),
        anchored: async (c) => (await anchored(c)) && anchoredRecord(c),
      }),
    ).resolves.toBeDefined();
  });

  it('takes claims only from a billing member system, and answers malformed input with a 400', async () => {
    const patient = await newPatient({});
    const asStaff = await json<{ resourceType: string }>(
      payer.request('/fhir/Claim/$submit', {
        method: 'POST',
        headers: CLINICIAN,
        body: JSON.stringify(claimFor(patient, day(-1), [['99213', 150]])),
      }),
    );
    expect(asStaff.status).toBe(403);
    const notAClaim = await submit({ resourceType: 'Patient' });
    expect(notAClaim.status).toBe(400);
    const anonymous = await submit(
      claimFor(patient, day(-1), [['99213', 150]], { patient: { display: 'someone' } }),
    );
    expect(anonymous.status).toBe(400);
    const bundled = await submit({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:4f7c3b5e-9a41-4d0e-8c55-2b1e6f0a9d11',
          resource: claimFor(patient, day(-2), [['70553', 100]], {
            patient: { reference: 'urn:uuid:8e2d6a90-1c3b-4f5e-a7d8-0b9c1e2f3a45' },
          }),
        },
        {
          fullUrl: 'urn:uuid:8e2d6a90-1c3b-4f5e-a7d8-0b9c1e2f3a45',
          resource: {
            resourceType: 'Patient',
            identifier: [{ system: LEDGER_ADDRESS_SYSTEM, value: patient.address }],
          },
        },
      ],
    });
    expect(bundled.body).toMatchObject({ resourceType: 'ClaimResponse' });
    expect(bundled.status).toBe(200);
    expect(bundled.body.outcome).toBe('complete');
  });

  it('careledger claims: policy publish, submit, verify (catching a decision altered after anchoring), dispute, resolve, settle', async () => {
    const files = mkdtempSync(join(tmpdir(), 'careledger-claims-cli-'));
    const file = (name: string, content: unknown) => {
      const path = join(files, name);
      writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
      return path;
    };
    try {
      const inProcess = (async (url: string, init?: RequestInit) =>
        payer.request(new URL(String(url)).pathname, init)) as typeof fetch;
      const next = { ...POLICY, version: 'test.2', effective: { start: day(301), end: day(600) } };
      expect(
        await publishPolicy({
          url: 'http://127.0.0.1:1',
          token: payer.adminToken,
          file: file('p2.json', next),
          fetch: inProcess,
        }),
      ).toMatchObject({ version: 'test.2' });
      expect((await chainLedger.policyVersions(payer.node.ledger.address)).sort()).toEqual([
        'test.1',
        'test.2',
      ]);

      const patient = await newPatient({});
      const claim = claimFor(patient, day(-4), [['99213', 150]]);
      const submitted = await submitClaim({
        payerUrl: 'http://127.0.0.1:1',
        ledgerKeyFile: file('provider.key', payer.providerKey),
        file: file('claim.json', claim),
        fetch: inProcess,
      });
      expect(submitted.claimResponse.outcome).toBe('complete');
      await payer.node.ledger.outbox.drain(30_000);
      const policyFile = file(
        'policy.json',
        (await json<unknown>(payer.request(`/claims/policies/${POLICY.version}`))).body,
      );
      const chain = {
        rpcUrl: payer.node.config.chain.rpcUrl,
        deploymentFile: payer.node.config.deploymentFile,
      };
      const args = {
        claimFile: file('claim.json', claim),
        policyFile,
        commitmentKeyFile: file('key.hex', submitted.commitmentKey),
        ...chain,
      };
      expect(
        await verifyClaim({ ...args, responseFile: file('response.json', submitted.claimResponse) }),
      ).toMatchObject({
        claimCommitment: commitmentOf(submitted.claimResponse),
        policyVersion: POLICY.version,
      });

      const altered = structuredClone(submitted.claimResponse);
      const benefit = altered.item?.[0]?.adjudication.find((a) => a.category.coding?.[0]?.code === 'benefit');
      (benefit?.amount as { value: number }).value += 1;
      const failure = await verifyClaim({ ...args, responseFile: file('altered.json', altered) }).catch(
        (e: CareLedgerError) => e,
      );
      expect((failure as CareLedgerError).details.reason).toBe('decision-altered');
      expect(exitCodeFor(failure)).toBe(65);
      const otherPolicy = await verifyClaim({
        ...args,
        policyFile: file('other-policy.json', { ...POLICY, deductible: '0' }),
        responseFile: file('response.json', submitted.claimResponse),
      }).catch((e: CareLedgerError) => e);
      expect((otherPolicy as CareLedgerError).details.reason).toBe('policy-mismatch');

      const commitment = commitmentOf(submitted.claimResponse);
      await disputeClaim({
        claimCommitment: commitment,
        reason: 'the copay is wrong',
        ledgerKeyFile: args.claimFile.replace('claim.json', 'provider.key'),
        ...chain,
      });
      expect((await chainLedger.decision(commitment))?.status).toBe('disputed');
      const operator = { url: 'http://127.0.0.1:1', token: payer.adminToken, fetch: inProcess };
      const negative = await settleClaim({ ...operator, claimCommitment: commitment, amount: '-1.00' }).catch(
        (e: CareLedgerError) => e,
      );
      expect((negative as CareLedgerError).details.reason).toBe('invalid-amount');
      const notOperator = await resolveDispute({
        ...operator,
        token: 'not-the-admin-token',
        claimCommitment: commitment,
        resolution: 'copay confirmed',
        amountDue: '0',
      }).catch((e: CareLedgerError) => e);
      expect((notOperator as CareLedgerError).code).toBe('ERR_FORBIDDEN');
      expect(
        await resolveDispute({
          ...operator,
          claimCommitment: commitment,
          resolution: 'copay confirmed',
          amountDue: '0.00',
        }),
      ).toEqual({ recorded: true });
      await payer.node.ledger.outbox.drain(30_000);
      expect(await chainLedger.decision(commitment)).toMatchObject({
        status: 'resolved',
        amountDueCents: 0n,
      });
      expect(await settleClaim({ ...operator, claimCommitment: commitment, amount: '12.50' })).toEqual({
        recorded: true,
      });
      await payer.node.ledger.outbox.drain(30_000);
      expect((await chainLedger.decision(commitment))?.paidCents).toBe(1250n);
    } finally {
      rmSync(files, { recursive: true, force: true });
    }
  });
});
