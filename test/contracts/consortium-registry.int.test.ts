import {
  type Abi,
  type Address,
  decodeErrorResult,
  encodeDeployData,
  type Hex,
  parseEventLogs,
  zeroAddress,
} from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEMBER_ROLES } from '../../src/ledger/codes.js';
import { consortiumRegistryAbi, consortiumRegistryBytecode } from '../../src/ledger/contracts.generated.js';
import { anvilAccount, captureRevert, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';
import { deployRegistry, type MemberInput, memberInput } from './fixtures.js';

const abi = consortiumRegistryAbi;
const A = anvilAccount(0);
const B = anvilAccount(1);
const C = anvilAccount(2);
const D = anvilAccount(3);
const OUTSIDER = anvilAccount(4);
const PRACTITIONER = anvilAccount(5);
const E = anvilAccount(6);

const DAY = 86_400n;

let anvil: TestAnvil;

beforeAll(async () => {
  anvil = await startTestAnvil();
});

afterAll(async () => {
  await anvil?.stop();
});

/** A fresh registry with A, B, C as genesis members and threshold k. */
async function setup(
  k = 2,
  genesis: MemberInput[] = [A, B, C].map((a, i) => memberInput(a.address, `g${i}`)),
) {
  const registry = await deployRegistry(anvil, A, genesis, k);
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    anvil.publicClient.readContract({ address: registry, abi, functionName, args } as never) as Promise<T>;
  const write = (account: PrivateKeyAccount, functionName: string, args: readonly unknown[] = []) =>
    anvil.write(account, { address: registry, abi, functionName, args } as never);
  const revert = (account: PrivateKeyAccount, functionName: string, args: readonly unknown[] = []) =>
    captureRevert(() =>
      anvil.publicClient.simulateContract({ account, address: registry, abi, functionName, args } as never),
    );
  return { registry, read, write, revert };
}

/** Deploys with a constructor that must revert and returns the decoded custom error. */
async function captureDeployRevert(
  args: readonly unknown[],
): Promise<{ name: string; args: readonly unknown[] }> {
  const data = encodeDeployData({ abi: abi as Abi, bytecode: consortiumRegistryBytecode, args });
  try {
    await anvil.publicClient.call({ account: A, data });
  } catch (error) {
    let revertData: Hex | undefined;
    let current: unknown = error;
    while (current !== undefined && current !== null && revertData === undefined) {
      const candidate = (current as { data?: unknown }).data;
      if (typeof candidate === 'string' && candidate.startsWith('0x')) revertData = candidate as Hex;
      current = (current as { cause?: unknown }).cause;
    }
    if (revertData === undefined) throw error;
    const decoded = decodeErrorResult({ abi, data: revertData });
    return { name: decoded.errorName, args: decoded.args ?? [] };
  }
  throw new Error('expected the deployment to revert');
}

describe('ConsortiumRegistry genesis', () => {
  it('admits the genesis members and exposes them through the views', async () => {
    const genesis = [A, B, C].map((a, i) => memberInput(a.address, `g${i}`));
    genesis[1] = memberInput(B.address, 'g1', 'lab');
    const { registry, read } = await setup(2, genesis);

    expect(await read<number>('threshold')).toBe(2);
    expect(await read<bigint>('effectiveThreshold')).toBe(2n);
    expect(await read<bigint>('memberCount')).toBe(3n);
    expect(await read<bigint>('activeMemberCount')).toBe(3n);
    expect(await read<readonly Address[]>('memberAddresses')).toEqual([A.address, B.address, C.address]);
    expect(await read<boolean>('isActiveMember', [B.address])).toBe(true);
    expect(await read<boolean>('isActiveMember', [OUTSIDER.address])).toBe(false);
    expect(await read<Address>('memberOfOrigin', ['g1.example.org/log'])).toBe(B.address);
    expect(await read<Address>('memberOfOrigin', ['nobody.example.org/log'])).toBe(zeroAddress);
    expect(await read<bigint>('proposalCount')).toBe(0n);

    const member = await anvil.publicClient.readContract({
      address: registry,
      abi,
      functionName: 'getMember',
      args: [B.address],
    });
    const block = await anvil.publicClient.getBlock();
    expect(member).toMatchObject({ ...genesis[1], status: 1, admittedAt: block.timestamp, removedAt: 0n });
    expect(member.role).toBe(MEMBER_ROLES.lab);
    const none = await anvil.publicClient.readContract({
      address: registry,
      abi,
      functionName: 'getMember',
      args: [OUTSIDER.address],
    });
    expect(none.status).toBe(0);

    const logs = await anvil.publicClient.getContractEvents({
      address: registry,
      abi,
      eventName: 'MemberAdmitted',
      fromBlock: block.number,
    });
    expect(logs.map((l) => l.args)).toEqual(
      genesis.map((g) => ({
        account: g.account,
        role: g.role,
        name: g.name,
        logOrigin: g.logOrigin,
        proposalId: 0n,
      })),
    );
  });

  it('rejects an invalid genesis with named errors', async () => {
    const ok = memberInput(A.address, 'a');
    expect((await captureDeployRevert([[ok], 0])).name).toBe('InvalidThreshold');
    expect(await captureDeployRevert([[], 2])).toEqual({ name: 'InvalidThreshold', args: [2n, 0n] });
    expect((await captureDeployRevert([[], 1])).name).toBe('InvalidThreshold');
    expect((await captureDeployRevert([[{ ...ok, name: '' }], 1])).name).toBe('EmptyName');
    expect((await captureDeployRevert([[{ ...ok, logOrigin: '' }], 1])).name).toBe('EmptyOrigin');
    expect(await captureDeployRevert([[{ ...ok, role: 0 }], 1])).toEqual({ name: 'InvalidRole', args: [0] });
    expect(await captureDeployRevert([[{ ...ok, role: 9 }], 1])).toEqual({ name: 'InvalidRole', args: [9] });
    expect((await captureDeployRevert([[{ ...ok, account: zeroAddress }], 1])).name).toBe('ZeroAddress');
    expect(await captureDeployRevert([[ok, ok], 1])).toEqual({ name: 'AlreadyMember', args: [A.address] });
    const sameOrigin = { ...memberInput(B.address, 'b'), logOrigin: ok.logOrigin };
    expect(await captureDeployRevert([[ok, sameOrigin], 1])).toEqual({
      name: 'OriginTaken',
      args: [ok.logOrigin, A.address],
    });
  });

  it('accepts every role defined in codes.ts', async () => {
    const genesis = Object.keys(MEMBER_ROLES).map((role, i) =>
      memberInput(anvilAccount(i).address, `r${i}`, role as keyof typeof MEMBER_ROLES),
    );
    const { read } = await setup(1, genesis);
    expect(await read<bigint>('activeMemberCount')).toBe(BigInt(genesis.length));
  });
});

describe('ConsortiumRegistry threshold above the genesis count', () => {
  it('lets a lone founder admit the second member, then needs k of the grown consortium', async () => {
    const { read, write } = await setup(2, [memberInput(A.address, 'founder')]);
    expect(await read<number>('threshold')).toBe(2);
    expect(await read<bigint>('effectiveThreshold')).toBe(1n);
    await write(A, 'proposeAdmission', [memberInput(B.address, 'second')]);
    expect(await read<boolean>('isActiveMember', [B.address])).toBe(true);
    expect(await read<bigint>('effectiveThreshold')).toBe(2n);
    await write(A, 'proposeAdmission', [memberInput(C.address, 'third')]);
    expect(await read<boolean>('isActiveMember', [C.address])).toBe(false);
    await write(B, 'vote', [2n]);
    expect(await read<boolean>('isActiveMember', [C.address])).toBe(true);
  });
});

describe('ConsortiumRegistry governance', () => {
  it('admits a member once votes reach the threshold, with events at each step', async () => {
    const { registry, read, write } = await setup(2);
    const candidate = memberInput(D.address, 'd', 'pharmacy');

    const proposed = await write(A, 'proposeAdmission', [candidate]);
    const block = await anvil.publicClient.getBlock({ blockNumber: proposed.blockNumber });
    const created = parseEventLogs({ abi, logs: proposed.logs, eventName: 'ProposalCreated' });
    expect(created.map((l) => l.args)).toEqual([
      {
        proposalId: 1n,
        kind: 1,
        proposer: A.address,
        subject: D.address,
        expiresAt: block.timestamp + 7n * DAY,
      },
    ]);
    expect(parseEventLogs({ abi, logs: proposed.logs, eventName: 'VoteCast' }).map((l) => l.args)).toEqual([
      { proposalId: 1n, voter: A.address, votes: 1, threshold: 2n, executed: false },
    ]);
    expect(parseEventLogs({ abi, logs: proposed.logs, eventName: 'MemberAdmitted' })).toEqual([]);
    expect(await read<boolean>('isActiveMember', [D.address])).toBe(false);
    expect(await read<boolean>('hasVoted', [1n, A.address])).toBe(true);
    expect(await read<boolean>('hasVoted', [1n, B.address])).toBe(false);

    const proposal = await anvil.publicClient.readContract({
      address: registry,
      abi,
      functionName: 'getProposal',
      args: [1n],
    });
    expect(proposal).toMatchObject({
      id: 1n,
      kind: 1,
      proposer: A.address,
      subject: D.address,
      createdAt: block.timestamp,
      expiresAt: block.timestamp + 7n * DAY,
      votes: 1,
      executed: false,
      candidate,
    });

    const voted = await write(B, 'vote', [1n]);
    expect(parseEventLogs({ abi, logs: voted.logs, eventName: 'VoteCast' }).map((l) => l.args)).toEqual([
      { proposalId: 1n, voter: B.address, votes: 2, threshold: 2n, executed: true },
    ]);
    expect(parseEventLogs({ abi, logs: voted.logs, eventName: 'MemberAdmitted' }).map((l) => l.args)).toEqual(
      [
        {
          account: D.address,
          role: MEMBER_ROLES.pharmacy,
          name: candidate.name,
          logOrigin: candidate.logOrigin,
          proposalId: 1n,
        },
      ],
    );
    expect(await read<boolean>('isActiveMember', [D.address])).toBe(true);
    expect(await read<Address>('memberOfOrigin', [candidate.logOrigin])).toBe(D.address);
    expect(await read<bigint>('memberCount')).toBe(4n);
    expect(await read<bigint>('activeMemberCount')).toBe(4n);
    expect((await read<{ executed: boolean }>('getProposal', [1n])).executed).toBe(true);
  });

  it('executes at once when the threshold is 1', async () => {
    const { read, write } = await setup(1);
    const receipt = await write(A, 'proposeAdmission', [memberInput(D.address, 'd')]);
    expect(parseEventLogs({ abi, logs: receipt.logs, eventName: 'MemberAdmitted' })).toHaveLength(1);
    expect(await read<boolean>('isActiveMember', [D.address])).toBe(true);
  });

  it('rejects bad proposals and votes with named errors', async () => {
    const { write, revert } = await setup(2);
    const candidate = memberInput(D.address, 'd');
    expect(await revert(OUTSIDER, 'proposeAdmission', [candidate])).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
    expect(await revert(OUTSIDER, 'proposeRemoval', [B.address])).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
    expect(await revert(A, 'proposeRemoval', [OUTSIDER.address])).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
    expect(await revert(A, 'proposeAdmission', [memberInput(B.address, 'b2')])).toEqual({
      name: 'AlreadyMember',
      args: [B.address],
    });
    expect(await revert(A, 'proposeAdmission', [{ ...candidate, logOrigin: 'g1.example.org/log' }])).toEqual({
      name: 'OriginTaken',
      args: ['g1.example.org/log', B.address],
    });
    expect((await revert(A, 'proposeAdmission', [{ ...candidate, name: '' }])).name).toBe('EmptyName');
    expect((await revert(A, 'proposeAdmission', [{ ...candidate, logOrigin: '' }])).name).toBe('EmptyOrigin');
    expect((await revert(A, 'proposeAdmission', [{ ...candidate, role: 9 }])).name).toBe('InvalidRole');
    expect((await revert(A, 'proposeAdmission', [{ ...candidate, account: zeroAddress }])).name).toBe(
      'ZeroAddress',
    );
    expect(await revert(A, 'vote', [42n])).toEqual({ name: 'ProposalNotFound', args: [42n] });
    expect(await revert(A, 'getProposal', [42n])).toEqual({ name: 'ProposalNotFound', args: [42n] });

    await write(A, 'proposeAdmission', [candidate]);
    expect(await revert(A, 'vote', [1n])).toEqual({ name: 'AlreadyVoted', args: [1n, A.address] });
    expect(await revert(OUTSIDER, 'vote', [1n])).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
    await write(B, 'vote', [1n]);
    expect(await revert(C, 'vote', [1n])).toEqual({ name: 'ProposalAlreadyExecuted', args: [1n] });
  });

  it('refuses votes once a proposal has expired', async () => {
    const { read, write, revert } = await setup(2);
    await write(A, 'proposeAdmission', [memberInput(D.address, 'd')]);
    const { expiresAt } = await read<{ expiresAt: bigint }>('getProposal', [1n]);
    await anvil.mineAt(expiresAt);
    expect(await revert(B, 'vote', [1n])).toEqual({ name: 'ProposalExpired', args: [1n, expiresAt] });
  });

  it('re-checks an admission at execution, so two proposals cannot both take an origin', async () => {
    const { read, write, revert } = await setup(2);
    const d = memberInput(D.address, 'd');
    const e = { ...memberInput(E.address, 'e'), logOrigin: d.logOrigin };
    await write(A, 'proposeAdmission', [d]);
    await write(A, 'proposeAdmission', [e]);
    await write(B, 'vote', [1n]);
    expect(await revert(B, 'vote', [2n])).toEqual({ name: 'OriginTaken', args: [d.logOrigin, D.address] });
    expect(await read<boolean>('isActiveMember', [E.address])).toBe(false);
  });

  it('removes a member by vote and keeps its history and origin', async () => {
    const { registry, read, write } = await setup(2);
    const proposed = await write(A, 'proposeRemoval', [C.address]);
    expect(parseEventLogs({ abi, logs: proposed.logs, eventName: 'ProposalCreated' })[0]?.args).toMatchObject(
      {
        kind: 2,
        subject: C.address,
      },
    );
    const voted = await write(B, 'vote', [1n]);
    expect(parseEventLogs({ abi, logs: voted.logs, eventName: 'MemberRemoved' }).map((l) => l.args)).toEqual([
      { account: C.address, proposalId: 1n },
    ]);
    const block = await anvil.publicClient.getBlock({ blockNumber: voted.blockNumber });
    const member = await anvil.publicClient.readContract({
      address: registry,
      abi,
      functionName: 'getMember',
      args: [C.address],
    });
    expect(member.status).toBe(2);
    expect(member.removedAt).toBe(block.timestamp);
    expect(await read<boolean>('isActiveMember', [C.address])).toBe(false);
    expect(await read<bigint>('activeMemberCount')).toBe(2n);
    expect(await read<bigint>('memberCount')).toBe(3n);
    expect(await read<readonly Address[]>('memberAddresses')).toEqual([A.address, B.address, C.address]);
    expect(await read<Address>('memberOfOrigin', ['g2.example.org/log'])).toBe(C.address);

    // Someone else cannot take over the removed member's log origin; the member itself can come back.
    expect(
      (
        await captureRevert(() =>
          anvil.publicClient.simulateContract({
            account: A,
            address: registry,
            abi,
            functionName: 'proposeAdmission',
            args: [{ ...memberInput(D.address, 'd'), logOrigin: 'g2.example.org/log' }],
          }),
        )
      ).name,
    ).toBe('OriginTaken');
    await write(A, 'proposeAdmission', [memberInput(C.address, 'g2')]);
    await write(B, 'vote', [2n]);
    expect(await read<boolean>('isActiveMember', [C.address])).toBe(true);
    expect(await read<bigint>('memberCount')).toBe(3n);
  });

  it('uses min(k, active members) as the threshold after removals', async () => {
    const { read, write } = await setup(3);
    await write(A, 'proposeRemoval', [C.address]);
    await write(B, 'vote', [1n]);
    expect(await read<boolean>('isActiveMember', [C.address])).toBe(true);
    await write(C, 'vote', [1n]);
    expect(await read<boolean>('isActiveMember', [C.address])).toBe(false);
    expect(await read<number>('threshold')).toBe(3);
    expect(await read<bigint>('effectiveThreshold')).toBe(2n);
    // With two active members and k = 3, two votes now admit.
    await write(A, 'proposeAdmission', [memberInput(D.address, 'd')]);
    await write(B, 'vote', [2n]);
    expect(await read<boolean>('isActiveMember', [D.address])).toBe(true);
  });

  it('never removes the last active member', async () => {
    const { revert } = await setup(1, [memberInput(A.address, 'solo')]);
    expect(await revert(A, 'proposeRemoval', [A.address])).toEqual({
      name: 'CannotRemoveLastMember',
      args: [A.address],
    });
  });
});

describe('ConsortiumRegistry member self-service', () => {
  it('lets a member update its endpoint and keys', async () => {
    const { registry, write, revert } = await setup(2);
    const receipt = await write(B, 'updateMember', ['https://new.example.org/fhir', 'new+vkey', '0x0102']);
    expect(
      parseEventLogs({ abi, logs: receipt.logs, eventName: 'MemberUpdated' }).map((l) => l.args),
    ).toEqual([
      {
        account: B.address,
        fhirBaseUrl: 'https://new.example.org/fhir',
        logVerifierKey: 'new+vkey',
        encryptionPublicKey: '0x0102',
      },
    ]);
    const member = await anvil.publicClient.readContract({
      address: registry,
      abi,
      functionName: 'getMember',
      args: [B.address],
    });
    expect(member).toMatchObject({
      fhirBaseUrl: 'https://new.example.org/fhir',
      logVerifierKey: 'new+vkey',
      encryptionPublicKey: '0x0102',
      logOrigin: 'g1.example.org/log',
    });
    expect(await revert(OUTSIDER, 'updateMember', ['x', 'y', '0x'])).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
  });
});

describe('ConsortiumRegistry practitioners', () => {
  const credential = `0x${'ab'.repeat(32)}` as const;

  it('attests, reports status over time, and revokes', async () => {
    const { read, write } = await setup(2);
    const now = await anvil.latestTimestamp();
    const expiresAt = now + 365n * DAY;
    const attested = await write(A, 'attestPractitioner', [
      PRACTITIONER.address,
      credential,
      'MD',
      expiresAt,
    ]);
    expect(
      parseEventLogs({ abi, logs: attested.logs, eventName: 'PractitionerAttested' }).map((l) => l.args),
    ).toEqual([
      {
        practitioner: PRACTITIONER.address,
        organization: A.address,
        credentialHash: credential,
        qualificationCode: 'MD',
        expiresAt,
      },
    ]);
    expect(await read('practitionerStatus', [PRACTITIONER.address, now])).toEqual([true, A.address]);
    expect(await read('practitionerStatus', [PRACTITIONER.address, expiresAt - 1n])).toEqual([
      true,
      A.address,
    ]);
    expect(await read('practitionerStatus', [PRACTITIONER.address, expiresAt])).toEqual([false, A.address]);
    expect(await read('practitionerStatus', [OUTSIDER.address, now])).toEqual([false, zeroAddress]);
    expect(await read('getPractitioner', [PRACTITIONER.address])).toMatchObject({
      organization: A.address,
      credentialHash: credential,
      qualificationCode: 'MD',
      expiresAt,
      revoked: false,
    });

    const revoked = await write(A, 'revokePractitioner', [PRACTITIONER.address]);
    expect(
      parseEventLogs({ abi, logs: revoked.logs, eventName: 'PractitionerRevoked' }).map((l) => l.args),
    ).toEqual([{ practitioner: PRACTITIONER.address, organization: A.address }]);
    expect(await read('practitionerStatus', [PRACTITIONER.address, now])).toEqual([false, A.address]);
    expect(await read('getPractitioner', [PRACTITIONER.address])).toMatchObject({ revoked: true });

    // Once revoked, another organization may attest the practitioner.
    await write(B, 'attestPractitioner', [PRACTITIONER.address, credential, 'RN', expiresAt]);
    expect(await read('practitionerStatus', [PRACTITIONER.address, now])).toEqual([true, B.address]);
  });

  it('invalidates practitioners of a removed organization', async () => {
    const { read, write } = await setup(2);
    const now = await anvil.latestTimestamp();
    await write(C, 'attestPractitioner', [PRACTITIONER.address, credential, 'MD', now + DAY]);
    await write(A, 'proposeRemoval', [C.address]);
    await write(B, 'vote', [1n]);
    expect(await read('practitionerStatus', [PRACTITIONER.address, now])).toEqual([false, C.address]);
  });

  it('rejects bad attestations and revocations with named errors', async () => {
    const { write, revert } = await setup(2);
    const now = await anvil.latestTimestamp();
    expect(
      await revert(OUTSIDER, 'attestPractitioner', [PRACTITIONER.address, credential, 'MD', now + DAY]),
    ).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
    expect((await revert(A, 'attestPractitioner', [zeroAddress, credential, 'MD', now + DAY])).name).toBe(
      'ZeroAddress',
    );
    const expired = await revert(A, 'attestPractitioner', [PRACTITIONER.address, credential, 'MD', now]);
    expect(expired.name).toBe('InvalidExpiry');
    expect(expired.args[0]).toBe(now);
    expect(await revert(A, 'revokePractitioner', [PRACTITIONER.address])).toEqual({
      name: 'PractitionerNotFound',
      args: [PRACTITIONER.address],
    });
    expect(await revert(A, 'getPractitioner', [PRACTITIONER.address])).toEqual({
      name: 'PractitionerNotFound',
      args: [PRACTITIONER.address],
    });

    await write(A, 'attestPractitioner', [PRACTITIONER.address, credential, 'MD', now + DAY]);
    expect(
      await revert(B, 'attestPractitioner', [PRACTITIONER.address, credential, 'MD', now + DAY]),
    ).toEqual({
      name: 'PractitionerAttestedByOther',
      args: [PRACTITIONER.address, A.address],
    });
    expect(await revert(B, 'revokePractitioner', [PRACTITIONER.address])).toEqual({
      name: 'NotAttestingOrganization',
      args: [PRACTITIONER.address, B.address],
    });
    // Renewal by the same organization is allowed.
    await write(A, 'attestPractitioner', [PRACTITIONER.address, credential, 'MD', now + 2n * DAY]);
    await write(A, 'revokePractitioner', [PRACTITIONER.address]);
    expect(await revert(A, 'revokePractitioner', [PRACTITIONER.address])).toEqual({
      name: 'PractitionerAlreadyRevoked',
      args: [PRACTITIONER.address],
    });
  });
});
