/**
 * ClaimsRegistry on a real anvil: payers publish policy versions, anchor decisions once per claim
 * commitment; settlement, dispute and resolution are events; roles and parties are checked.
 */
import { type Address, type Hex, keccak256, parseEventLogs, toHex } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimsLedger, toDay } from '../../src/claims/claims-ledger.js';
import {
  claimsRegistryAbi,
  claimsRegistryBytecode,
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
} from '../../src/ledger/contracts.generated.js';
import { anvilAccount, captureRevert, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';
import { memberInput } from './fixtures.js';

const abi = claimsRegistryAbi;
const PAYER = anvilAccount(0);
const PROVIDER = anvilAccount(1);
const OTHER_PROVIDER = anvilAccount(2);
const OUTSIDER = anvilAccount(3);
const POLICY_HASH = keccak256(toHex('policy 2026.1'));
const commitment = (label: string): Hex => keccak256(toHex(label));

let anvil: TestAnvil;
let address: Address;
let ledger: ClaimsLedger;

beforeAll(async () => {
  anvil = await startTestAnvil();
  const registry = await anvil.deploy(PAYER, {
    abi: consortiumRegistryAbi,
    bytecode: consortiumRegistryBytecode,
    args: [
      [
        memberInput(PAYER.address, 'payer', 'payer'),
        memberInput(PROVIDER.address, 'clinic', 'provider'),
        memberInput(OTHER_PROVIDER.address, 'lab', 'lab'),
      ],
      1,
    ],
  });
  address = await anvil.deploy(PAYER, { abi, bytecode: claimsRegistryBytecode, args: [registry] });
  ledger = new ClaimsLedger(
    { contracts: { claimsRegistry: address } as never },
    undefined,
    anvil.publicClient,
  );
});

afterAll(async () => {
  await anvil?.stop();
});

const write = (account: PrivateKeyAccount, functionName: string, args: readonly unknown[]) =>
  anvil.write(account, { address, abi, functionName, args } as never);
const revert = (account: PrivateKeyAccount, functionName: string, args: readonly unknown[]) =>
  captureRevert(() =>
    anvil.publicClient.simulateContract({ account, address, abi, functionName, args } as never),
  );
const events = (receipt: Awaited<ReturnType<typeof write>>) =>
  parseEventLogs({ abi, logs: receipt.logs }).map((l) => ({ event: l.eventName, ...l.args }));
const USD = toHex('USD', { size: 3 });

describe('ClaimsRegistry', () => {
  it('publishes policy versions once each; old versions stay in force for their own days', async () => {
    const published = await write(PAYER, 'publishPolicy', [
      '2026.1',
      POLICY_HASH,
      toDay('2026-01-01'),
      toDay('2026-12-31'),
    ]);
    expect(events(published)).toEqual([
      {
        event: 'PolicyPublished',
        payer: PAYER.address,
        version: '2026.1',
        policyHash: POLICY_HASH,
        validFrom: toDay('2026-01-01'),
        validTo: toDay('2026-12-31'),
      },
    ]);
    await write(PAYER, 'publishPolicy', [
      '2027.1',
      commitment('p2'),
      toDay('2027-01-01'),
      toDay('2027-12-31'),
    ]);
    expect(await ledger.policyVersions(PAYER.address)).toEqual(['2026.1', '2027.1']);
    expect((await ledger.policy(PAYER.address, '2026.1'))?.policyHash).toBe(POLICY_HASH);
    expect(await ledger.policy(PAYER.address, '1999')).toBeUndefined();
    const inForce = (date: string) =>
      anvil.publicClient.readContract({
        address,
        abi,
        functionName: 'policyInForce',
        args: [PAYER.address, toDay(date)],
      });
    expect(await inForce('2026-06-01')).toEqual(['2026.1', POLICY_HASH]);
    expect((await inForce('2027-06-01'))[0]).toBe('2027.1');
    expect((await inForce('2025-06-01'))[0]).toBe('');

    expect(await revert(PAYER, 'publishPolicy', ['2026.1', POLICY_HASH, 1, 2])).toEqual({
      name: 'PolicyVersionExists',
      args: [PAYER.address, '2026.1'],
    });
    expect((await revert(PAYER, 'publishPolicy', ['x', POLICY_HASH, 5, 4])).name).toBe('InvalidPeriod');
    expect((await revert(PROVIDER, 'publishPolicy', ['x', POLICY_HASH, 1, 2])).name).toBe('NotPayer');
    expect((await revert(OUTSIDER, 'publishPolicy', ['x', POLICY_HASH, 1, 2])).name).toBe('NotActiveMember');
  });

  it('anchors a decision once per claim commitment, for a billing member and a published version', async () => {
    const claim = commitment('claim-1');
    const anchored = await write(PAYER, 'anchorDecision', [
      claim,
      PROVIDER.address,
      '2026.1',
      commitment('decision-1'),
      12_345n,
      USD,
    ]);
    expect(events(anchored)).toEqual([
      {
        event: 'DecisionAnchored',
        claimCommitment: claim,
        payer: PAYER.address,
        provider: PROVIDER.address,
        policyVersion: '2026.1',
        decisionCommitment: commitment('decision-1'),
        amountDueCents: 12_345n,
        currency: USD,
      },
    ]);
    const decision = await ledger.decision(claim);
    expect(decision).toMatchObject({
      payer: PAYER.address,
      provider: PROVIDER.address,
      amountDueCents: 12_345n,
      currency: 'USD',
      status: 'anchored',
      policyVersionHash: keccak256(toHex('2026.1')),
    });
    const args = [claim, PROVIDER.address, '2026.1', commitment('other'), 1n, USD];
    expect(await revert(PAYER, 'anchorDecision', args)).toEqual({ name: 'DecisionExists', args: [claim] });
    const fresh = commitment('claim-2');
    expect(
      (await revert(PAYER, 'anchorDecision', [fresh, PROVIDER.address, 'nope', commitment('d'), 1n, USD]))
        .name,
    ).toBe('UnknownPolicyVersion');
    expect(
      (await revert(PAYER, 'anchorDecision', [fresh, PAYER.address, '2026.1', commitment('d'), 1n, USD]))
        .name,
    ).toBe('NotClaimant');
    expect(
      (
        await revert(PROVIDER, 'anchorDecision', [
          fresh,
          PROVIDER.address,
          '2026.1',
          commitment('d'),
          1n,
          USD,
        ])
      ).name,
    ).toBe('NotPayer');
    expect(await ledger.decision(fresh)).toBeUndefined();
  });

  it('records settlements by the payer, a dispute by the provider and its resolution, as events', async () => {
    const claim = commitment('claim-3');
    await write(PAYER, 'anchorDecision', [
      claim,
      OTHER_PROVIDER.address,
      '2026.1',
      commitment('d3'),
      500n,
      USD,
    ]);
    expect(events(await write(PAYER, 'recordSettlement', [claim, 200n]))).toEqual([
      { event: 'SettlementRecorded', claimCommitment: claim, payer: PAYER.address, amountCents: 200n },
    ]);
    await write(PAYER, 'recordSettlement', [claim, 300n]);
    expect((await ledger.decision(claim))?.paidCents).toBe(500n);
    expect((await revert(OTHER_PROVIDER, 'recordSettlement', [claim, 1n])).name).toBe('NotDecisionParty');
    expect((await revert(PAYER, 'resolveDispute', [claim, commitment('r'), 1n])).name).toBe('DisputeNotOpen');
    expect((await revert(PROVIDER, 'dispute', [claim, commitment('why')])).name).toBe('NotDecisionParty');

    expect(events(await write(OTHER_PROVIDER, 'dispute', [claim, commitment('why')]))).toEqual([
      {
        event: 'DecisionDisputed',
        claimCommitment: claim,
        provider: OTHER_PROVIDER.address,
        reasonHash: commitment('why'),
      },
    ]);
    expect((await ledger.decision(claim))?.status).toBe('disputed');
    expect((await revert(OTHER_PROVIDER, 'dispute', [claim, commitment('why')])).name).toBe(
      'AlreadyDisputed',
    );
    expect(events(await write(PAYER, 'resolveDispute', [claim, commitment('fixed'), 700n]))).toEqual([
      {
        event: 'DisputeResolved',
        claimCommitment: claim,
        payer: PAYER.address,
        resolutionHash: commitment('fixed'),
        amountDueCents: 700n,
      },
    ]);
    expect(await ledger.decision(claim)).toMatchObject({ status: 'resolved', amountDueCents: 700n });
    expect((await revert(PAYER, 'recordSettlement', [commitment('nothing'), 1n])).name).toBe(
      'UnknownDecision',
    );
  });
});
