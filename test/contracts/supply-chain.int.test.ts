import { type Address, type Hex, keccak256, parseEventLogs, toHex } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supplyChainAbi, supplyChainBytecode } from '../../src/ledger/contracts.generated.js';
import { anvilAccount, captureRevert, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';
import { deployRegistry, memberInput } from './fixtures.js';

const abi = supplyChainAbi;
const MAKER = anvilAccount(0);
const WHOLESALER = anvilAccount(1);
const PHARMACY = anvilAccount(2);
const OTHER_PHARMACY = anvilAccount(3);
const OUTSIDER = anvilAccount(4);

let anvil: TestAnvil;
let counter = 0;
/** Stand-ins for the keyed hashes of an SGTIN and a lot (the contract never sees the cleartext). */
const newKey = (kind: string): Hex => keccak256(toHex(`${kind}-${counter++}`));

beforeAll(async () => {
  anvil = await startTestAnvil();
});

afterAll(async () => {
  await anvil?.stop();
});

async function setup() {
  const registry = await deployRegistry(
    anvil,
    MAKER,
    [
      memberInput(MAKER.address, 'maker', 'manufacturer'),
      memberInput(WHOLESALER.address, 'wholesaler', 'distributor'),
      memberInput(PHARMACY.address, 'pharmacy', 'pharmacy'),
      memberInput(OTHER_PHARMACY.address, 'other', 'pharmacy'),
    ],
    1,
  );
  const supply = await anvil.deploy(MAKER, { abi, bytecode: supplyChainBytecode, args: [registry] });
  const write = async (account: PrivateKeyAccount, functionName: string, args: readonly unknown[]) => {
    const receipt = await anvil.write(account, { address: supply, abi, functionName, args } as never);
    return parseEventLogs({ abi, logs: receipt.logs }).map((l) => ({ event: l.eventName, ...l.args }));
  };
  const revert = (account: PrivateKeyAccount, functionName: string, args: readonly unknown[]) =>
    captureRevert(() =>
      anvil.publicClient.simulateContract({ account, address: supply, abi, functionName, args } as never),
    );
  const pack = (key: Hex) =>
    anvil.publicClient.readContract({ address: supply, abi, functionName: 'packOf', args: [key] });
  return { supply, write, revert, pack };
}

async function commissioned(s: Awaited<ReturnType<typeof setup>>, lot = newKey('lot')) {
  const pack = newKey('pack');
  await s.write(MAKER, 'commission', [pack, lot, 271231]);
  return { pack, lot };
}

async function atPharmacy(s: Awaited<ReturnType<typeof setup>>, lot?: Hex) {
  const { pack, lot: packLot } = await commissioned(s, lot);
  await s.write(MAKER, 'ship', [pack, PHARMACY.address]);
  await s.write(PHARMACY, 'receivePack', [pack]);
  return { pack, lot: packLot };
}

describe('SupplyChain', () => {
  it('lets only a manufacturer commission, once, and keeps lots to their manufacturer', async () => {
    const s = await setup();
    const pack = newKey('pack');
    const lot = newKey('lot');
    expect(await s.revert(WHOLESALER, 'commission', [pack, lot, 271231])).toMatchObject({
      name: 'NotManufacturer',
    });
    expect(await s.revert(OUTSIDER, 'commission', [pack, lot, 271231])).toMatchObject({
      name: 'NotActiveMember',
    });
    expect(await s.write(MAKER, 'commission', [pack, lot, 271231])).toEqual([
      { event: 'PackCommissioned', pack, lot, manufacturer: MAKER.address, expiry: 271231 },
    ]);
    expect(await s.revert(MAKER, 'commission', [pack, lot, 271231])).toMatchObject({ name: 'PackExists' });
    expect(await s.pack(pack)).toMatchObject({ status: 1, owner: MAKER.address, lot, expiry: 271231 });
  });

  it('moves a pack from owner to addressee and flags a receipt by anyone else', async () => {
    const s = await setup();
    const { pack } = await commissioned(s);
    expect(await s.revert(WHOLESALER, 'ship', [pack, PHARMACY.address])).toMatchObject({ name: 'NotOwner' });
    expect(await s.write(MAKER, 'ship', [pack, WHOLESALER.address])).toEqual([
      { event: 'PackShipped', pack, from: MAKER.address, to: WHOLESALER.address },
    ]);
    expect(await s.write(PHARMACY, 'receivePack', [pack])).toEqual([
      { event: 'PackSuspect', pack, reporter: PHARMACY.address, reason: 2 },
    ]);
    expect(await s.write(WHOLESALER, 'receivePack', [pack])).toEqual([
      { event: 'PackReceived', pack, from: MAKER.address, by: WHOLESALER.address },
    ]);
    const state = await s.pack(pack);
    expect(state).toMatchObject({ status: 1, owner: WHOLESALER.address, suspect: true });
  });

  it('flags a pack shipped twice by its owner', async () => {
    const s = await setup();
    const { pack } = await commissioned(s);
    await s.write(MAKER, 'ship', [pack, WHOLESALER.address]);
    expect(await s.write(MAKER, 'ship', [pack, PHARMACY.address])).toEqual([
      { event: 'PackSuspect', pack, reporter: MAKER.address, reason: 1 },
    ]);
    expect(await s.pack(pack)).toMatchObject({ status: 2, addressee: WHOLESALER.address, suspect: true });
  });

  it('dispenses once: a second dispense, here or elsewhere, flags the pack (a cloned serial)', async () => {
    const s = await setup();
    const { pack } = await atPharmacy(s);
    expect(await s.revert(OTHER_PHARMACY, 'dispense', [pack])).toMatchObject({ name: 'NotOwner' });
    expect(await s.write(PHARMACY, 'dispense', [pack])).toEqual([
      { event: 'PackDispensed', pack, pharmacy: PHARMACY.address },
    ]);
    expect(await s.write(OTHER_PHARMACY, 'dispense', [pack])).toEqual([
      { event: 'PackSuspect', pack, reporter: OTHER_PHARMACY.address, reason: 3 },
    ]);
    expect(await s.pack(pack)).toMatchObject({ status: 3, suspect: true, owner: PHARMACY.address });
  });

  it('recalls a lot by its manufacturer only, and flags a dispense after the recall', async () => {
    const s = await setup();
    const lot = newKey('lot');
    const { pack } = await atPharmacy(s, lot);
    expect(await s.revert(PHARMACY, 'recallLot', [lot])).toMatchObject({ name: 'NotLotManufacturer' });
    expect(await s.revert(MAKER, 'recallLot', [newKey('lot')])).toMatchObject({ name: 'UnknownLot' });
    expect(await s.write(MAKER, 'recallLot', [lot])).toEqual([
      { event: 'LotRecalled', lot, manufacturer: MAKER.address },
    ]);
    expect(await s.write(PHARMACY, 'dispense', [pack])).toEqual([
      { event: 'PackSuspect', pack, reporter: PHARMACY.address, reason: 4 },
    ]);
    expect(await s.pack(pack)).toMatchObject({ status: 1 });
    expect(await s.write(PHARMACY, 'reportRecallReach', [lot, 3])).toEqual([
      { event: 'RecallReach', lot, member: PHARMACY.address, patients: 3 },
    ]);
  });

  it('recalls one serial, destroys by the owner, and takes suspect reports from members', async () => {
    const s = await setup();
    const { pack, lot } = await commissioned(s);
    expect(await s.revert(WHOLESALER, 'recallPack', [pack])).toMatchObject({ name: 'NotLotManufacturer' });
    expect(await s.write(MAKER, 'recallPack', [pack])).toEqual([
      { event: 'PackRecalled', pack, lot, manufacturer: MAKER.address },
    ]);
    expect(await s.revert(WHOLESALER, 'destroy', [pack])).toMatchObject({ name: 'NotOwner' });
    expect(await s.write(MAKER, 'destroy', [pack])).toEqual([
      { event: 'PackDestroyed', pack, by: MAKER.address },
    ]);
    expect(await s.revert(MAKER, 'ship', [pack, WHOLESALER.address])).toMatchObject({ name: 'PackInactive' });
    expect(await s.revert(OUTSIDER, 'flagSuspect', [pack])).toMatchObject({ name: 'NotActiveMember' });
    expect(await s.revert(PHARMACY, 'flagSuspect', [newKey('pack')])).toMatchObject({ name: 'UnknownPack' });
    expect(await s.write(PHARMACY, 'flagSuspect', [pack])).toEqual([
      { event: 'PackSuspect', pack, reporter: PHARMACY.address, reason: 5 },
    ]);
    const state = await s.pack(pack);
    expect(state).toMatchObject({ status: 4, recalled: true, suspect: true });
    expect((state as { manufacturer: Address }).manufacturer).toBe(MAKER.address);
  });

  it('packs packs into a case, moves them with the case, and flags a case taken by anyone else', async () => {
    const s = await setup();
    const lot = newKey('lot');
    const [a, b, c] = [await commissioned(s, lot), await commissioned(s, lot), await commissioned(s, lot)];
    const box = newKey('case');
    const children = () =>
      anvil.publicClient.readContract({ address: s.supply, abi, functionName: 'childrenOf', args: [box] });
    expect(await s.revert(WHOLESALER, 'aggregate', [box, [a.pack]])).toMatchObject({ name: 'NotOwner' });
    expect(await s.write(MAKER, 'aggregate', [box, [a.pack, b.pack, c.pack]])).toEqual([
      { event: 'PacksAggregated', parent: box, by: MAKER.address, count: 3 },
    ]);
    expect(await s.revert(WHOLESALER, 'aggregate', [box, []])).toMatchObject({ name: 'NotCaseHolder' });
    // C leaves the case on its own: shipping the case moves A and B only.
    expect(await s.write(MAKER, 'disaggregate', [box, [c.pack]])).toEqual([
      { event: 'PacksDisaggregated', parent: box, by: MAKER.address, count: 1 },
    ]);
    expect(await children()).toEqual([a.pack, b.pack]);
    expect(await s.revert(WHOLESALER, 'shipCase', [box, PHARMACY.address])).toMatchObject({
      name: 'NotCaseHolder',
    });
    expect((await s.write(MAKER, 'shipCase', [box, WHOLESALER.address])).map((e) => e.event)).toEqual([
      'PackShipped',
      'PackShipped',
      'CaseShipped',
    ]);
    expect(await s.pack(c.pack)).toMatchObject({ status: 1 });
    // The pharmacy was not the addressee: both packs flagged, nothing moved.
    expect((await s.write(PHARMACY, 'receiveCase', [box])).map((e) => e.event)).toEqual([
      'PackSuspect',
      'PackSuspect',
    ]);
    expect((await s.write(WHOLESALER, 'receiveCase', [box])).map((e) => e.event)).toEqual([
      'CaseReceived',
      'PackReceived',
      'PackReceived',
    ]);
    expect(await s.pack(a.pack)).toMatchObject({ status: 1, owner: WHOLESALER.address });
    // A case shipped twice flags its packs; a pack dispensed out of a case leaves it.
    await s.write(WHOLESALER, 'shipCase', [box, PHARMACY.address]);
    expect((await s.write(WHOLESALER, 'shipCase', [box, PHARMACY.address])).map((e) => e.event)).toEqual([
      'PackSuspect',
      'PackSuspect',
      'CaseShipped',
    ]);
    await s.write(PHARMACY, 'receiveCase', [box]);
    await s.write(PHARMACY, 'dispense', [a.pack]);
    expect(await children()).toEqual([b.pack]);
  });

  it('keeps a GLN directory: first claim wins, claims only by members', async () => {
    const s = await setup();
    const gln = 9506000000007n;
    expect(await s.revert(OUTSIDER, 'claimGln', [gln])).toMatchObject({ name: 'NotActiveMember' });
    expect(await s.write(PHARMACY, 'claimGln', [gln])).toEqual([
      { event: 'GlnClaimed', gln, member: PHARMACY.address },
    ]);
    expect(await s.revert(WHOLESALER, 'claimGln', [gln])).toMatchObject({ name: 'GlnTaken' });
    expect(
      await anvil.publicClient.readContract({
        address: s.supply,
        abi,
        functionName: 'glnOwner',
        args: [gln],
      }),
    ).toBe(PHARMACY.address);
  });
});
