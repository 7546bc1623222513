/**
 * ResearchIndex on a real anvil: it folds a study's events, and when the chain it indexed is rolled
 * back (an embedded chain restored from an older snapshot looks the same as a re-org) it folds again
 * from the start, so a study that vanished from the chain vanishes from the index.
 */
import { type Address, type Hex, keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCategories } from '../../src/ledger/codes.js';
import {
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
  researchRegistryAbi,
  researchRegistryBytecode,
} from '../../src/ledger/contracts.generated.js';
import { ResearchIndex } from '../../src/research/ledger/index.js';
import { memberInput } from '../contracts/fixtures.js';
import { anvilAccount, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';

const RESEARCHER = anvilAccount(0);
const HOSPITAL = anvilAccount(1);
let anvil: TestAnvil;
let address: Address;
let index: ResearchIndex;
const lines: string[] = [];

beforeAll(async () => {
  anvil = await startTestAnvil();
  const registry = await anvil.deploy(RESEARCHER, {
    abi: consortiumRegistryAbi,
    bytecode: consortiumRegistryBytecode,
    args: [
      [memberInput(RESEARCHER.address, 'university', 'research'), memberInput(HOSPITAL.address, 'hospital')],
      1,
    ],
  });
  address = await anvil.deploy(RESEARCHER, {
    abi: researchRegistryAbi,
    bytecode: researchRegistryBytecode,
    args: [registry],
  });
  index = new ResearchIndex({
    client: anvil.publicClient,
    deployment: { contracts: { researchRegistry: address } as never, deployBlock: 0 },
    onLog: (line) => lines.push(line),
  });
});

afterAll(async () => {
  await anvil?.stop();
});

async function propose(label: string): Promise<Hex> {
  const id = keccak256(toHex(label));
  const now = await anvil.latestTimestamp();
  await anvil.write(RESEARCHER, {
    address,
    abi: researchRegistryAbi,
    functionName: 'proposeStudy',
    args: [
      id,
      keccak256(toHex('p')),
      keccak256(toHex('profile')),
      encodeCategories(['laboratory']),
      ['Observation'],
      now,
      now + 1000n,
      3,
      [],
    ],
  });
  return id;
}

describe('ResearchIndex', () => {
  it('folds the events, and folds again after the chain it indexed was rolled back', async () => {
    const kept = await propose('kept');
    const snapshot = await anvil.testClient.snapshot();
    const lost = await propose('lost');
    await anvil.write(HOSPITAL, {
      address,
      abi: researchRegistryAbi,
      functionName: 'approveStudy',
      args: [kept],
    });
    await index.sync();
    expect(index.list().map((s) => s.id)).toEqual([kept, lost]);
    expect(index.study(kept)).toMatchObject({
      status: 'approved',
      approvedBy: [HOSPITAL.address],
      approvalsNeeded: 1,
    });

    await anvil.testClient.revert({ id: snapshot });
    await index.sync();
    expect(index.list().map((s) => s.id)).toEqual([kept]);
    expect(index.study(kept)).toMatchObject({ status: 'proposed', approvedBy: [] });
    expect(lines.some((l) => l.includes('left the chain'))).toBe(true);

    // Past the old height again, on other blocks: the index follows the new history.
    const other = await propose('other');
    await propose('another');
    await index.sync();
    expect(index.list().map((s) => s.id)).toEqual([kept, other, keccak256(toHex('another'))]);
  });
});
