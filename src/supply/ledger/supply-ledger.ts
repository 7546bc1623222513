/**
 * The node's typed handle on the SupplyChain contract (decision 0023): writes through the durable
 * outbox, reads (pack state, a pack's history) straight from the chain. Packs and lots are passed as
 * their keyed hashes (supply-keys.ts); nothing here ever sees a patient.
 */
import {
  type Address,
  decodeEventLog,
  encodeFunctionData,
  getAddress,
  type Hex,
  type Log,
  type PublicClient,
  parseEventLogs,
  toEventSelector,
} from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { supplyChainAbi } from '../../ledger/contracts.generated.js';
import type { Outbox } from '../../ledger/outbox.js';
import type { OutboxEntry } from '../../ledger/outbox-storage.js';

/** Mirrors SupplyChain.Status. */
export const PACK_STATUSES = ['none', 'owned', 'in-transit', 'dispensed', 'destroyed'] as const;
export type PackStatus = (typeof PACK_STATUSES)[number];

/** Mirrors SupplyChain.SuspectReason. */
export const SUSPECT_REASONS = [
  'none',
  'shipped-twice',
  'received-by-other',
  'dispensed-twice',
  'dispensed-after-recall',
  'reported',
] as const;
export type SuspectReason = (typeof SUSPECT_REASONS)[number];

export interface PackState {
  readonly status: PackStatus;
  readonly suspect: boolean;
  /** The pack itself, or its whole lot, is recalled. */
  readonly recalled: boolean;
  /** YYMMDD as committed at commissioning. */
  readonly expiry: number;
  readonly manufacturer: Address;
  readonly owner: Address;
  readonly addressee: Address;
  readonly lot: Hex;
}

/** One ledger event of a pack's history, for its chain of custody. */
export interface CustodyStep {
  readonly event: string;
  readonly blockNumber: number;
  readonly txHash: Hex;
  readonly args: Readonly<Record<string, string | number | boolean>>;
}

export class SupplyLedger {
  constructor(
    readonly address: Address,
    private readonly outbox: Outbox,
    private readonly client: PublicClient,
    /** The block the contract was deployed in: history is read from there. */
    private readonly fromBlock = 0,
  ) {}

  get self(): Address {
    return this.outbox.address;
  }

  commission(pack: Hex, lot: Hex, expiry: number): Promise<OutboxEntry> {
    return this.write('commission', [pack, lot, expiry]);
  }

  ship(pack: Hex, to: Address): Promise<OutboxEntry> {
    return this.write('ship', [pack, to]);
  }

  receive(pack: Hex): Promise<OutboxEntry> {
    return this.write('receivePack', [pack]);
  }

  dispense(pack: Hex): Promise<OutboxEntry> {
    return this.write('dispense', [pack]);
  }

  destroy(pack: Hex): Promise<OutboxEntry> {
    return this.write('destroy', [pack]);
  }

  recallLot(lot: Hex): Promise<OutboxEntry> {
    return this.write('recallLot', [lot]);
  }

  recallPack(pack: Hex): Promise<OutboxEntry> {
    return this.write('recallPack', [pack]);
  }

  flagSuspect(pack: Hex): Promise<OutboxEntry> {
    return this.write('flagSuspect', [pack]);
  }

  reportRecallReach(lot: Hex, patients: number): Promise<OutboxEntry> {
    return this.write('reportRecallReach', [lot, patients]);
  }

  /** Packs into a case (EPCIS AggregationEvent ADD); `disaggregate` with none named empties it. */
  aggregate(parent: Hex, children: readonly Hex[]): Promise<OutboxEntry> {
    return this.write('aggregate', [parent, children]);
  }

  disaggregate(parent: Hex, children: readonly Hex[]): Promise<OutboxEntry> {
    return this.write('disaggregate', [parent, children]);
  }

  shipCase(parent: Hex, to: Address): Promise<OutboxEntry> {
    return this.write('shipCase', [parent, to]);
  }

  receiveCase(parent: Hex): Promise<OutboxEntry> {
    return this.write('receiveCase', [parent]);
  }

  /** Names a GLN (13 digits) as this member's in the consortium's GLN directory. */
  claimGln(gln: string): Promise<OutboxEntry> {
    return this.write('claimGln', [BigInt(gln)]);
  }

  /** The member a GLN belongs to, or undefined when no member claimed it. */
  async glnOwner(gln: string): Promise<Address | undefined> {
    const owner = await this.client.readContract({
      address: this.address,
      abi: supplyChainAbi,
      functionName: 'glnOwner',
      args: [BigInt(gln)],
    });
    return /^0x0{40}$/i.test(owner) ? undefined : getAddress(owner);
  }

  /** Whether a lot (its keyed hash) was ever commissioned in the consortium: a product it tracks. */
  async lotKnown(lot: Hex): Promise<boolean> {
    const manufacturer = await this.client.readContract({
      address: this.address,
      abi: supplyChainAbi,
      functionName: 'lotManufacturer',
      args: [lot],
    });
    return !/^0x0{40}$/i.test(manufacturer);
  }

  /** The GLNs a member has claimed (from the GlnClaimed events naming it), as 13-digit strings. */
  async glnsOf(member: Address): Promise<string[]> {
    const item = supplyChainAbi.find((entry) => entry.type === 'event' && entry.name === 'GlnClaimed');
    if (item === undefined || item.type !== 'event') return [];
    const logs = (await this.client.request({
      method: 'eth_getLogs',
      params: [
        {
          address: this.address,
          fromBlock: `0x${this.fromBlock.toString(16)}`,
          topics: [toEventSelector(item), null, `0x${member.slice(2).toLowerCase().padStart(64, '0')}`],
        },
      ],
    })) as Log[];
    const glns = logs.map((log) => String(toStep(log)?.args.gln ?? '').padStart(13, '0'));
    return [...new Set(glns)].filter((gln) => gln !== '0000000000000');
  }

  /** The packs in a case now (keyed hashes). */
  async childrenOf(parent: Hex): Promise<readonly Hex[]> {
    return this.client.readContract({
      address: this.address,
      abi: supplyChainAbi,
      functionName: 'childrenOf',
      args: [parent],
    });
  }

  /** Waits for a write to be mined; a revert on chain is an error naming the step. */
  async confirmed(entry: OutboxEntry, timeoutMs = 60_000): Promise<OutboxEntry> {
    const done = await this.outbox.waitForConfirmation(entry.id, timeoutMs);
    if (done.receiptStatus !== 'success') {
      throw new CareLedgerError('ERR_CHAIN_REVERTED', `supply chain ${entry.label} reverted on the chain`);
    }
    return done;
  }

  /** The suspect flags a mined write raised (SupplyChain flags instead of reverting on a clone). */
  async suspectFlags(entry: OutboxEntry): Promise<{ pack: Hex; reason: SuspectReason }[]> {
    const receipt = await this.client.getTransactionReceipt({ hash: entry.txHash });
    return parseEventLogs({ abi: supplyChainAbi, logs: receipt.logs, eventName: 'PackSuspect' }).map(
      (log) => ({
        pack: log.args.pack,
        reason: SUSPECT_REASONS[log.args.reason] ?? 'none',
      }),
    );
  }

  /** A pack's state now, or undefined when it was never commissioned. */
  async pack(pack: Hex): Promise<PackState | undefined> {
    const raw = await this.client.readContract({
      address: this.address,
      abi: supplyChainAbi,
      functionName: 'packOf',
      args: [pack],
    });
    if (raw.status === 0) return undefined;
    const recalledLot = await this.client.readContract({
      address: this.address,
      abi: supplyChainAbi,
      functionName: 'lotRecalled',
      args: [raw.lot],
    });
    return {
      status: PACK_STATUSES[raw.status] ?? 'none',
      suspect: raw.suspect,
      recalled: raw.recalled || recalledLot,
      expiry: raw.expiry,
      manufacturer: getAddress(raw.manufacturer),
      owner: getAddress(raw.owner),
      addressee: getAddress(raw.addressee),
      lot: raw.lot,
    };
  }

  /** Every ledger event that names `key` (a pack, or a lot) as its first indexed argument, in order. */
  async history(key: Hex): Promise<CustodyStep[]> {
    const logs = (await this.client.request({
      method: 'eth_getLogs',
      params: [{ address: this.address, fromBlock: `0x${this.fromBlock.toString(16)}`, topics: [null, key] }],
    })) as Log[];
    return logs.map((log) => toStep(log)).filter((step) => step !== undefined);
  }

  /** Logs of the contract in a block range, decoded (the recall follower reads these). */
  async events(fromBlock: number, toBlock: number, eventNames: readonly string[]): Promise<CustodyStep[]> {
    const selectors = eventNames.map((name) => {
      const item = supplyChainAbi.find((entry) => entry.type === 'event' && entry.name === name);
      if (item === undefined || item.type !== 'event') {
        throw new CareLedgerError('ERR_INTERNAL', `SupplyChain has no event ${name}`);
      }
      return toEventSelector(item);
    });
    const logs = (await this.client.request({
      method: 'eth_getLogs',
      params: [
        {
          address: this.address,
          fromBlock: `0x${fromBlock.toString(16)}`,
          toBlock: `0x${toBlock.toString(16)}`,
          topics: [selectors],
        },
      ],
    })) as Log[];
    return logs.map((log) => toStep(log)).filter((step) => step !== undefined);
  }

  async headBlock(): Promise<number> {
    return Number(await this.client.getBlockNumber({ cacheTime: 0 }));
  }

  private write(
    functionName:
      | 'commission'
      | 'ship'
      | 'receivePack'
      | 'dispense'
      | 'destroy'
      | 'recallLot'
      | 'recallPack'
      | 'flagSuspect'
      | 'reportRecallReach'
      | 'aggregate'
      | 'disaggregate'
      | 'shipCase'
      | 'receiveCase'
      | 'claimGln',
    args: readonly unknown[],
  ): Promise<OutboxEntry> {
    return this.outbox.submit({
      label: `supply ${functionName}`,
      to: this.address,
      data: encodeFunctionData({ abi: supplyChainAbi, functionName, args } as never),
    });
  }
}

function toStep(log: Log): CustodyStep | undefined {
  try {
    const decoded = decodeEventLog({ abi: supplyChainAbi, data: log.data, topics: log.topics });
    const args: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries((decoded.args ?? {}) as Record<string, unknown>)) {
      args[key] = typeof value === 'bigint' ? value.toString() : (value as string | number | boolean);
    }
    if (decoded.eventName === 'PackSuspect') args.reason = SUSPECT_REASONS[Number(args.reason)] ?? 'none';
    return {
      event: decoded.eventName,
      blockNumber: Number(log.blockNumber),
      txHash: log.transactionHash ?? '0x',
      args,
    };
  } catch {
    return undefined;
  }
}
