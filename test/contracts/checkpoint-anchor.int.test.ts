import { type Address, type Hex, keccak256, parseEventLogs, toHex } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointAnchorAbi, consortiumRegistryAbi } from '../../src/ledger/contracts.generated.js';
import { anvilAccount, captureRevert, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';
import { deployAnchor, deployRegistry, memberInput } from './fixtures.js';

const abi = checkpointAnchorAbi;
const A = anvilAccount(0);
const B = anvilAccount(1);
const OUTSIDER = anvilAccount(2);
const ORIGIN_A = 'a.example.org/log';
const ORIGIN_B = 'b.example.org/log';

const root = (label: string): Hex => keccak256(toHex(`root ${label}`));
const note = (label: string): Hex => keccak256(toHex(`note ${label}`));

let anvil: TestAnvil;

beforeAll(async () => {
  anvil = await startTestAnvil();
});

afterAll(async () => {
  await anvil?.stop();
});

async function setup() {
  const registry = await deployRegistry(
    anvil,
    A,
    [memberInput(A.address, 'a'), memberInput(B.address, 'b')],
    1,
  );
  const anchor = await deployAnchor(anvil, A, registry);
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    anvil.publicClient.readContract({ address: anchor, abi, functionName, args } as never) as Promise<T>;
  const write = (account: PrivateKeyAccount, args: readonly unknown[]) =>
    anvil.write(account, { address: anchor, abi, functionName: 'anchor', args } as never);
  const revert = (account: PrivateKeyAccount, functionName: string, args: readonly unknown[]) =>
    captureRevert(() =>
      anvil.publicClient.simulateContract({ account, address: anchor, abi, functionName, args } as never),
    );
  return { registry, anchor, read, write, revert };
}

describe('CheckpointAnchor', () => {
  it('anchors growing checkpoints of a member’s own log, with events and views', async () => {
    const { anchor, read, write } = await setup();
    expect(await read('latest', [ORIGIN_A])).toEqual([
      0n,
      `0x${'00'.repeat(32)}`,
      `0x${'00'.repeat(32)}`,
      0n,
      0n,
    ]);
    expect(await read('anchorCount', [ORIGIN_A])).toBe(0n);
    expect(await read('registry')).toBeTypeOf('string');

    const first = await write(A, [ORIGIN_A, 0n, root('0'), note('0')]);
    const second = await write(A, [ORIGIN_A, 10n, root('10'), note('10')]);
    const block = await anvil.publicClient.getBlock({ blockNumber: second.blockNumber });
    expect(
      parseEventLogs({ abi, logs: second.logs, eventName: 'CheckpointAnchored' }).map((l) => l.args),
    ).toEqual([
      {
        originHash: keccak256(toHex(ORIGIN_A)),
        origin: ORIGIN_A,
        treeSize: 10n,
        rootHash: root('10'),
        noteHash: note('10'),
        member: A.address,
        anchoredAt: block.timestamp,
      },
    ]);
    expect(await read('latest', [ORIGIN_A])).toEqual([
      10n,
      root('10'),
      note('10'),
      block.timestamp,
      block.number,
    ]);
    expect(await read('anchorCount', [ORIGIN_A])).toBe(2n);
    expect(await read('checkpointAt', [ORIGIN_A, 0n])).toMatchObject({
      treeSize: 0n,
      rootHash: root('0'),
      blockNumber: first.blockNumber,
    });
    expect(await read('anchorCount', [ORIGIN_B])).toBe(0n);

    // Events can be filtered by origin: the indexed topic is keccak256 of the origin.
    const logs = await anvil.publicClient.getContractEvents({
      address: anchor as Address,
      abi,
      eventName: 'CheckpointAnchored',
      args: { originHash: keccak256(toHex(ORIGIN_A)) },
      fromBlock: first.blockNumber,
    });
    expect(logs.map((l) => l.args.treeSize)).toEqual([0n, 10n]);
  });

  it('refuses anyone but the active member owning the origin', async () => {
    const { registry, revert, write } = await setup();
    const args = [ORIGIN_A, 1n, root('1'), note('1')];
    expect(await revert(B, 'anchor', args)).toEqual({ name: 'NotOriginOwner', args: [ORIGIN_A, B.address] });
    expect(await revert(OUTSIDER, 'anchor', args)).toEqual({
      name: 'NotOriginOwner',
      args: [ORIGIN_A, OUTSIDER.address],
    });
    expect(await revert(A, 'anchor', ['unknown.example.org/log', 1n, root('1'), note('1')])).toEqual({
      name: 'NotOriginOwner',
      args: ['unknown.example.org/log', A.address],
    });
    // A removed member can no longer anchor its own origin.
    await write(A, [ORIGIN_A, 1n, root('1'), note('1')]);
    await anvil.write(B, {
      address: registry,
      abi: consortiumRegistryAbi,
      functionName: 'proposeRemoval',
      args: [A.address],
    });
    expect(await revert(A, 'anchor', [ORIGIN_A, 2n, root('2'), note('2')])).toEqual({
      name: 'NotOriginOwner',
      args: [ORIGIN_A, A.address],
    });
  });

  it('refuses shrinking, equivocating and duplicate checkpoints', async () => {
    const { read, revert, write } = await setup();
    await write(A, [ORIGIN_A, 5n, root('5'), note('5')]);
    expect(await revert(A, 'anchor', [ORIGIN_A, 4n, root('4'), note('4')])).toEqual({
      name: 'TreeSizeDecreased',
      args: [5n, 4n],
    });
    expect(await revert(A, 'anchor', [ORIGIN_A, 5n, root('fork'), note('fork')])).toEqual({
      name: 'ConflictingRoot',
      args: [5n],
    });
    expect(await revert(A, 'anchor', [ORIGIN_A, 5n, root('5'), note('5 cosigned again')])).toEqual({
      name: 'AlreadyAnchored',
      args: [5n],
    });
    expect(await revert(A, 'checkpointAt', [ORIGIN_A, 1n])).toEqual({
      name: 'CheckpointNotFound',
      args: [ORIGIN_A, 1n],
    });
    expect(await read('anchorCount', [ORIGIN_A])).toBe(1n);
  });
});
