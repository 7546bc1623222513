/**
 * ResearchRegistry on a real anvil: a research member proposes, ethics boards or a member majority
 * approve, the researcher opens and closes (or members vote to close), releases are anchored only
 * while open and inside the period, with the study's profile, and each contributor gets a credit that
 * cannot move.
 */
import { type Address, type Hex, keccak256, parseEventLogs, toHex } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCategories } from '../../src/ledger/codes.js';
import {
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
  researchRegistryAbi,
  researchRegistryBytecode,
} from '../../src/ledger/contracts.generated.js';
import { anvilAccount, captureRevert, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';
import { memberInput } from './fixtures.js';

const abi = researchRegistryAbi;
const RESEARCHER = anvilAccount(0);
const HOSPITAL = anvilAccount(1);
const LAB = anvilAccount(2);
const BOARD = anvilAccount(3);
const OUTSIDER = anvilAccount(4);
const hash = (label: string): Hex => keccak256(toHex(label));
const PROFILE = hash('safe-harbor profile');
const CATEGORIES = encodeCategories(['demographics', 'laboratory']);

let anvil: TestAnvil;
let address: Address;
let now: bigint;

beforeAll(async () => {
  anvil = await startTestAnvil();
  const registry = await anvil.deploy(RESEARCHER, {
    abi: consortiumRegistryAbi,
    bytecode: consortiumRegistryBytecode,
    args: [
      [
        memberInput(RESEARCHER.address, 'university', 'research'),
        memberInput(HOSPITAL.address, 'hospital', 'provider'),
        memberInput(LAB.address, 'lab', 'lab'),
        memberInput(BOARD.address, 'board', 'provider'),
      ],
      1,
    ],
  });
  address = await anvil.deploy(RESEARCHER, { abi, bytecode: researchRegistryBytecode, args: [registry] });
  now = await anvil.latestTimestamp();
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
const read = <T>(functionName: string, args: readonly unknown[] = []) =>
  anvil.publicClient.readContract({ address, abi, functionName, args } as never) as Promise<T>;

function proposal(id: Hex, overrides: Partial<Record<string, unknown>> = {}): unknown[] {
  const p = {
    id,
    protocolHash: hash(`protocol ${id}`),
    profileHash: PROFILE,
    categories: CATEGORIES,
    resourceTypes: ['Patient', 'Observation'],
    notBefore: now - 60n,
    notAfter: now + 86_400n,
    k: 5,
    ethicsBoards: [] as Address[],
    ...overrides,
  };
  return [
    p.id,
    p.protocolHash,
    p.profileHash,
    p.categories,
    p.resourceTypes,
    p.notBefore,
    p.notAfter,
    p.k,
    p.ethicsBoards,
  ];
}

const statusOf = async (id: Hex) => (await read<{ status: number }>('studyOf', [id])).status;

describe('ResearchRegistry', () => {
  it('takes a proposal from an active research member only, checked field by field', async () => {
    const id = hash('study-majority');
    expect((await revert(HOSPITAL, 'proposeStudy', proposal(id))).name).toBe('NotResearchMember');
    expect((await revert(OUTSIDER, 'proposeStudy', proposal(id))).name).toBe('NotActiveMember');
    expect(await revert(RESEARCHER, 'proposeStudy', proposal(id, { k: 1 }))).toEqual({
      name: 'CohortTooSmall',
      args: [1],
    });
    expect((await revert(RESEARCHER, 'proposeStudy', proposal(id, { notAfter: now - 60n }))).name).toBe(
      'StudyPeriodInvalid',
    );
    expect(await revert(RESEARCHER, 'proposeStudy', proposal(id, { resourceTypes: [] }))).toEqual({
      name: 'StudyFieldEmpty',
      args: ['resourceTypes'],
    });
    expect(
      await revert(RESEARCHER, 'proposeStudy', proposal(id, { ethicsBoards: [OUTSIDER.address] })),
    ).toEqual({ name: 'EthicsBoardInvalid', args: [OUTSIDER.address] });
    expect(
      (
        await revert(
          RESEARCHER,
          'proposeStudy',
          proposal(id, { ethicsBoards: [BOARD.address, BOARD.address] }),
        )
      ).name,
    ).toBe('EthicsBoardInvalid');

    const proposed = await write(RESEARCHER, 'proposeStudy', proposal(id));
    expect(events(proposed)).toEqual([
      {
        event: 'StudyProposed',
        studyId: id,
        researcher: RESEARCHER.address,
        protocolHash: hash(`protocol ${id}`),
        profileHash: PROFILE,
        categories: CATEGORIES,
        resourceTypes: ['Patient', 'Observation'],
        notBefore: now - 60n,
        notAfter: now + 86_400n,
        k: 5,
        ethicsBoards: [],
      },
    ]);
    expect((await revert(RESEARCHER, 'proposeStudy', proposal(id))).name).toBe('StudyExists');
    expect(await statusOf(id)).toBe(1);
  });

  it('is approved by a majority of the active members other than its researcher, never by it', async () => {
    const id = hash('study-majority');
    expect((await revert(RESEARCHER, 'approveStudy', [id])).name).toBe('ResearcherCannotVote');
    expect((await revert(OUTSIDER, 'approveStudy', [id])).name).toBe('NotActiveMember');
    // Four active members, three of whom may vote: two approvals decide it.
    expect(events(await write(HOSPITAL, 'approveStudy', [id]))).toEqual([
      { event: 'StudyApprovalVoted', studyId: id, voter: HOSPITAL.address, approvals: 1, needed: 2 },
    ]);
    expect(await revert(HOSPITAL, 'approveStudy', [id])).toEqual({
      name: 'AlreadyVotedOnStudy',
      args: [id, HOSPITAL.address],
    });
    expect(await statusOf(id)).toBe(1);
    // No release before it is open.
    expect(await revert(HOSPITAL, 'anchorRelease', [id, hash('m0'), PROFILE, 1n, 1, 0, []])).toEqual({
      name: 'StudyNotOpen',
      args: [id, 1],
    });
    const approved = events(await write(LAB, 'approveStudy', [id]));
    expect(approved.map((e) => e.event)).toEqual(['StudyApprovalVoted', 'StudyApproved']);
    expect(await statusOf(id)).toBe(2);
    expect((await revert(HOSPITAL, 'approveStudy', [id])).name).toBe('WrongStudyStatus');
  });

  it('is approved by all of its named ethics boards when it names some', async () => {
    const id = hash('study-boards');
    await write(RESEARCHER, 'proposeStudy', proposal(id, { ethicsBoards: [BOARD.address, LAB.address] }));
    expect(await read<Address[]>('ethicsBoardsOf', [id])).toEqual([BOARD.address, LAB.address]);
    expect(await revert(HOSPITAL, 'approveStudy', [id])).toEqual({
      name: 'NotEthicsBoard',
      args: [id, HOSPITAL.address],
    });
    expect(events(await write(BOARD, 'approveStudy', [id]))).toEqual([
      { event: 'StudyApprovalVoted', studyId: id, voter: BOARD.address, approvals: 1, needed: 2 },
    ]);
    expect(events(await write(LAB, 'approveStudy', [id])).map((e) => e.event)).toEqual([
      'StudyApprovalVoted',
      'StudyApproved',
    ]);
  });

  it('anchors a release only while open, with the study profile, and credits each contributor once per release', async () => {
    const id = hash('study-majority');
    expect(await revert(HOSPITAL, 'openStudy', [id])).toEqual({
      name: 'NotResearcher',
      args: [id, HOSPITAL.address],
    });
    expect(events(await write(RESEARCHER, 'openStudy', [id]))).toEqual([
      { event: 'StudyOpened', studyId: id, researcher: RESEARCHER.address },
    ]);
    const block = await anvil.publicClient.getBlockNumber();
    const manifest = hash('manifest-1');
    const contributors = [anvilAccount(7).address, anvilAccount(8).address];
    expect(await revert(HOSPITAL, 'anchorRelease', [id, manifest, hash('other'), block, 10, 1, []])).toEqual({
      name: 'ProfileMismatch',
      args: [id, hash('other')],
    });
    expect(
      (await revert(HOSPITAL, 'anchorRelease', [id, manifest, PROFILE, block + 100n, 10, 1, []])).name,
    ).toBe('ConsentBlockInFuture');
    expect((await revert(OUTSIDER, 'anchorRelease', [id, manifest, PROFILE, block, 10, 1, []])).name).toBe(
      'NotActiveMember',
    );
    const anchored = await write(HOSPITAL, 'anchorRelease', [
      id,
      manifest,
      PROFILE,
      block,
      10,
      1,
      contributors,
    ]);
    expect(events(anchored)).toEqual([
      {
        event: 'ReleaseAnchored',
        studyId: id,
        manifestHash: manifest,
        member: HOSPITAL.address,
        profileHash: PROFILE,
        consentBlock: block,
        records: 10,
        suppressed: 1,
      },
      { event: 'CreditMinted', contributor: contributors[0], studyId: id, manifestHash: manifest },
      { event: 'CreditMinted', contributor: contributors[1], studyId: id, manifestHash: manifest },
    ]);
    expect((await revert(LAB, 'anchorRelease', [id, manifest, PROFILE, block, 10, 1, []])).name).toBe(
      'ReleaseExists',
    );
    // A large cohort continues in more transactions, by the member that anchored the release only.
    expect(await revert(LAB, 'addContributors', [id, manifest, [anvilAccount(9).address]])).toEqual({
      name: 'NotReleaseMember',
      args: [id, manifest, LAB.address],
    });
    await write(HOSPITAL, 'addContributors', [id, manifest, [anvilAccount(9).address]]);
    expect(await read<{ contributors: number; member: Address }>('releaseOf', [id, manifest])).toMatchObject({
      member: HOSPITAL.address,
      contributors: 3,
      records: 10,
    });
    await write(LAB, 'anchorRelease', [id, hash('manifest-2'), PROFILE, block, 4, 0, [contributors[0]]]);
    expect(await read<bigint>('creditsOf', [contributors[0]])).toBe(2n);
    expect(await read<bigint>('creditsOf', [anvilAccount(9).address])).toBe(1n);
    expect(await read<boolean>('locked', [contributors[0]])).toBe(true);
    // Soulbound: nothing in the ABI moves or approves a credit.
    const names = abi.filter((item) => item.type === 'function').map((item) => item.name);
    expect(names.filter((n) => /transfer|approve$|allowance|setApproval/i.test(n))).toEqual([]);
  });

  it('refuses a release outside the study period, with the times', async () => {
    const id = hash('study-later');
    const later = now + 10_000n;
    await write(
      RESEARCHER,
      'proposeStudy',
      proposal(id, { notBefore: later, notAfter: later + 1_000n, ethicsBoards: [BOARD.address] }),
    );
    await write(BOARD, 'approveStudy', [id]);
    await write(RESEARCHER, 'openStudy', [id]);
    const failure = await revert(HOSPITAL, 'anchorRelease', [id, hash('m-later'), PROFILE, 1n, 1, 0, []]);
    expect(failure.name).toBe('OutsideStudyPeriod');
    expect(failure.args.slice(2)).toEqual([later, later + 1_000n]);
  });

  it('is closed by its researcher, or by a majority vote of the members; then no release', async () => {
    const id = hash('study-boards');
    expect((await revert(HOSPITAL, 'closeStudy', [id])).name).toBe('NotResearcher');
    expect(events(await write(RESEARCHER, 'closeStudy', [id]))).toEqual([
      { event: 'StudyClosed', studyId: id, by: RESEARCHER.address, byVote: false },
    ]);
    expect((await revert(RESEARCHER, 'closeStudy', [id])).name).toBe('WrongStudyStatus');

    const open = hash('study-majority');
    await write(HOSPITAL, 'voteCloseStudy', [open]);
    await write(LAB, 'voteCloseStudy', [open]);
    expect(await statusOf(open)).toBe(3);
    expect(events(await write(BOARD, 'voteCloseStudy', [open])).map((e) => e.event)).toEqual([
      'StudyCloseVoted',
      'StudyClosed',
    ]);
    const block = await anvil.publicClient.getBlockNumber();
    expect(await revert(HOSPITAL, 'anchorRelease', [open, hash('m3'), PROFILE, block, 1, 0, []])).toEqual({
      name: 'StudyNotOpen',
      args: [open, 4],
    });
    expect(await read<Hex[]>('studyIds')).toEqual([
      hash('study-majority'),
      hash('study-boards'),
      hash('study-later'),
    ]);
  });
});
