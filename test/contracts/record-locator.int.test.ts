import { type Address, parseEventLogs, zeroAddress } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consortiumRegistryAbi, recordLocatorAbi } from '../../src/ledger/contracts.generated.js';
import { anvilAccount, captureRevert, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';
import { deployLocator, deployRegistry, memberInput } from './fixtures.js';

const abi = recordLocatorAbi;
const A = anvilAccount(0);
const B = anvilAccount(1);
const C = anvilAccount(2);
const OUTSIDER = anvilAccount(3);

/** A fresh pseudonymous patient address, as a patient's own key would give. */
const newPatient = (): Address => privateKeyToAccount(generatePrivateKey()).address;

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
    [memberInput(A.address, 'a'), memberInput(B.address, 'b'), memberInput(C.address, 'c')],
    1,
  );
  const locator = await deployLocator(anvil, A, registry);
  const read = <T>(functionName: string, args: readonly unknown[] = []) =>
    anvil.publicClient.readContract({ address: locator, abi, functionName, args } as never) as Promise<T>;
  const write = (account: PrivateKeyAccount, functionName: 'announce' | 'withdraw', patient: Address) =>
    anvil.write(account, { address: locator, abi, functionName, args: [patient] } as never);
  const revert = (account: PrivateKeyAccount, functionName: string, args: readonly unknown[]) =>
    captureRevert(() =>
      anvil.publicClient.simulateContract({ account, address: locator, abi, functionName, args } as never),
    );
  const events = (receipt: Awaited<ReturnType<typeof write>>) =>
    parseEventLogs({ abi, logs: receipt.logs }).map((l) => ({ event: l.eventName, ...l.args }));
  return { registry, locator, read, write, revert, events };
}

describe('RecordLocator', () => {
  it('records which members announced a patient, with events and views', async () => {
    const { locator, read, write, events } = await setup();
    const patient = newPatient();
    const other = newPatient();
    expect(await read('registry')).toBeTypeOf('string');
    expect(await read('locationsOf', [patient])).toEqual([]);
    expect(await read('isLocated', [patient, A.address])).toBe(false);

    expect(events(await write(A, 'announce', patient))).toEqual([
      { event: 'RecordsLocated', patient, member: A.address },
    ]);
    expect(events(await write(B, 'announce', patient))).toEqual([
      { event: 'RecordsLocated', patient, member: B.address },
    ]);
    expect(await read('locationsOf', [patient])).toEqual([A.address, B.address]);
    expect(await read('isLocated', [patient, A.address])).toBe(true);
    expect(await read('isLocated', [patient, C.address])).toBe(false);
    expect(await read('locationsOf', [other])).toEqual([]);

    // Events can be filtered by patient: it is an indexed topic.
    const logs = await anvil.publicClient.getContractEvents({
      address: locator,
      abi,
      eventName: 'RecordsLocated',
      args: { patient },
      fromBlock: 0n,
    });
    expect(logs.map((l) => l.args.member)).toEqual([A.address, B.address]);
  });

  it('is idempotent: a second announce, or a withdraw of nothing, is a no-op without an event', async () => {
    const { read, write, events } = await setup();
    const patient = newPatient();
    await write(A, 'announce', patient);
    const again = await write(A, 'announce', patient);
    expect(again.status).toBe('success');
    expect(events(again)).toEqual([]);
    expect(await read('locationsOf', [patient])).toEqual([A.address]);

    const nothing = await write(B, 'withdraw', patient);
    expect(nothing.status).toBe('success');
    expect(events(nothing)).toEqual([]);
    expect(await read('locationsOf', [patient])).toEqual([A.address]);
  });

  it('withdraws only the caller’s own pointer, keeping the others', async () => {
    const { read, write, events } = await setup();
    const patient = newPatient();
    for (const member of [A, B, C]) await write(member, 'announce', patient);

    expect(events(await write(A, 'withdraw', patient))).toEqual([
      { event: 'RecordsWithdrawn', patient, member: A.address },
    ]);
    expect([...(await read<Address[]>('locationsOf', [patient]))].sort()).toEqual(
      [B.address, C.address].sort(),
    );
    expect(await read('isLocated', [patient, A.address])).toBe(false);
    expect(await read('isLocated', [patient, B.address])).toBe(true);
    expect(await read('isLocated', [patient, C.address])).toBe(true);

    await write(C, 'withdraw', patient);
    expect(await read('locationsOf', [patient])).toEqual([B.address]);
    // Withdrawn, then announced again: back in the list.
    await write(A, 'announce', patient);
    expect(await read('locationsOf', [patient])).toEqual([B.address, A.address]);
    await write(B, 'withdraw', patient);
    await write(A, 'withdraw', patient);
    expect(await read('locationsOf', [patient])).toEqual([]);
    expect(await read('isLocated', [patient, A.address])).toBe(false);
  });

  it('lets only active members announce; a removed member may still withdraw', async () => {
    const { registry, read, write, revert } = await setup();
    const patient = newPatient();
    expect(await revert(OUTSIDER, 'announce', [patient])).toEqual({
      name: 'NotActiveMember',
      args: [OUTSIDER.address],
    });
    expect(await revert(A, 'announce', [zeroAddress])).toEqual({ name: 'ZeroAddress', args: [] });

    await write(A, 'announce', patient);
    await anvil.write(B, {
      address: registry,
      abi: consortiumRegistryAbi,
      functionName: 'proposeRemoval',
      args: [A.address],
    });
    expect(await revert(A, 'announce', [newPatient()])).toEqual({
      name: 'NotActiveMember',
      args: [A.address],
    });
    // Its pointer stays until it takes it down, which it still may.
    expect(await read('locationsOf', [patient])).toEqual([A.address]);
    await write(A, 'withdraw', patient);
    expect(await read('locationsOf', [patient])).toEqual([]);
  });
});
