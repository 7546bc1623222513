import { type Address, decodeEventLog, type Hex, type Log, type PublicClient } from 'viem';
import {
  checkpointAnchorAbi,
  consentRegistryAbi,
  consortiumRegistryAbi,
  recordLocatorAbi,
} from '../ledger/contracts.generated.js';
import type { Deployment } from '../ledger/deployment.js';
import type { BlockRef, ChainIndexStorage, IndexedEvent } from './index-storage.js';

export interface SyncStatus {
  readonly headBlock: number | null;
  readonly indexedBlock: number | null;
  readonly lagBlocks: number | null;
  /** Seconds between now and the timestamp of the newest indexed block. */
  readonly lagSeconds: number | null;
  readonly lastError: string | null;
  readonly reorgs: number;
  readonly events: number;
}

export interface ChainIndexerOptions {
  readonly client: PublicClient;
  readonly storage: ChainIndexStorage;
  readonly deployment: Deployment;
  /** Blocks per eth_getLogs call. */
  readonly batchSize?: number;
  readonly now?: () => number;
  readonly onLog?: (line: string) => void;
  /** Called after each batch that indexed events (e.g. to wake waiters). */
  readonly onIndexed?: (cursor: BlockRef) => void;
}

/**
 * Chain sync: follows the chain and folds the contracts' events into the node's own database, so
 * consent questions are answered locally with no RPC round trip. Handles re-orgs (and an embedded
 * chain restored from an older snapshot, which looks the same): before each step it checks that the
 * block it last indexed is still on the chain, and if not walks back to the fork and rebuilds.
 */
export class ChainIndexer {
  private readonly sources: {
    address: Address;
    contract: IndexedEvent['contract'];
    abi: readonly unknown[];
  }[];
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again: Promise<void> | undefined;
  private stopped = false;
  private head: number | null = null;
  private indexedTimestamp: number | null = null;
  private lastError: string | null = null;
  private reorgs = 0;

  constructor(private readonly options: ChainIndexerOptions) {
    const { contracts } = options.deployment;
    this.sources = [
      { address: contracts.consortiumRegistry, contract: 'registry', abi: consortiumRegistryAbi },
      { address: contracts.consentRegistry, contract: 'consent', abi: consentRegistryAbi },
      { address: contracts.checkpointAnchor, contract: 'anchor', abi: checkpointAnchorAbi },
      // Absent from deployments made before RecordLocator existed.
      ...(contracts.recordLocator === undefined
        ? []
        : [{ address: contracts.recordLocator, contract: 'locator' as const, abi: recordLocatorAbi }]),
    ];
    this.now = options.now ?? Date.now;
  }

  start(intervalMs = 250): void {
    if (this.timer !== undefined) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.sync(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.stopped = true;
    await this.running;
    await this.again;
  }

  /** Indexes up to the current head (several batches if needed). Never throws: errors go to status. */
  sync(): Promise<void> {
    if (this.running !== undefined) {
      // The sync in flight may have read the head before the caller's transaction was mined: the caller
      // gets one more sync after it (shared by everyone who asks meanwhile), so "sync, then read" holds.
      this.again ??= this.running.then(() => {
        this.again = undefined;
        return this.stopped ? undefined : this.sync();
      });
      return this.again;
    }
    this.running = this.syncToHead()
      .then(() => {
        this.lastError = null;
      })
      .catch((error: unknown) => {
        const message =
          error instanceof Error ? (error.message.split('\n')[0] ?? 'sync failed') : String(error);
        if (this.lastError !== message) this.options.onLog?.(`chain sync: ${message}`);
        this.lastError = message;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async syncToHead(): Promise<void> {
    const { client, storage } = this.options;
    const batchSize = this.options.batchSize ?? 2_000;
    // The head block, not just its number: most ticks find nothing new, or exactly one block on top
    // of the cursor, and its hash and parent hash answer the fork check without asking for the
    // cursor's block (one call instead of two when idle, two instead of five per block: issue 16).
    const latest = await client.getBlock({ blockTag: 'latest' });
    const head = Number(latest.number);
    this.head = head;
    const stored = await storage.cursor();
    if (stored !== undefined && head === stored.number && latest.hash === stored.hash) return;
    if (stored !== undefined && head === stored.number + 1 && latest.parentHash === stored.hash) {
      // EIP-234: the logs of exactly this block, so a re-org cannot mix in another block's.
      const logs = await client.getLogs({
        address: this.sources.map((source) => source.address),
        blockHash: latest.hash,
      });
      await this.applyLogs(logs, { number: head, hash: latest.hash }, latest.timestamp);
      return;
    }
    let cursor = await this.checkForFork(stored);
    for (;;) {
      const from = cursor === undefined ? this.options.deployment.deployBlock : cursor.number + 1;
      if (from > head) return;
      const to = Math.min(head, from + batchSize - 1);
      const toBlock = await client.getBlock({ blockNumber: BigInt(to) });
      const logs = await client.getLogs({
        address: this.sources.map((source) => source.address),
        fromBlock: BigInt(from),
        toBlock: BigInt(to),
      });
      // A re-org between the two calls would mix blocks: re-check the range end before keeping the logs.
      const again = await client.getBlock({ blockNumber: BigInt(to) });
      if (again.hash !== toBlock.hash) return;
      const next: BlockRef = { number: to, hash: toBlock.hash };
      await this.applyLogs(logs, next, toBlock.timestamp);
      cursor = next;
    }
  }

  /** Stores the events of `logs` and moves the cursor to `next`, the last block they cover. */
  private async applyLogs(logs: readonly Log[], next: BlockRef, timestamp: bigint): Promise<void> {
    const events = logs.map((log) => this.decode(log)).filter((event) => event !== undefined);
    const blocks = new Map<number, Hex>([[next.number, next.hash]]);
    for (const event of events) blocks.set(event.blockNumber, event.blockHash);
    await this.options.storage.applyBatch({
      events,
      blocks: [...blocks].map(([number, hash]) => ({ number, hash })),
      cursor: next,
    });
    this.indexedTimestamp = Number(timestamp);
    this.options.onIndexed?.(next);
  }

  /** Returns the cursor to continue from: the stored one, or the fork point after a rollback. */
  private async checkForFork(cursor: BlockRef | undefined): Promise<BlockRef | undefined> {
    if (cursor === undefined) return undefined;
    if (await this.isOnChain(cursor)) return cursor;
    this.reorgs += 1;
    let forkPoint: BlockRef | undefined;
    for (const block of await this.options.storage.recentBlocks(10_000)) {
      if (block.number < cursor.number && (await this.isOnChain(block))) {
        forkPoint = block;
        break;
      }
    }
    this.options.onLog?.(
      `chain sync: block ${cursor.number} is no longer on the chain; rolling back to ${forkPoint?.number ?? 'the deployment block'}`,
    );
    await this.options.storage.rollbackTo(forkPoint);
    return forkPoint;
  }

  private async isOnChain(block: BlockRef): Promise<boolean> {
    const found = await this.options.client
      .getBlock({ blockNumber: BigInt(block.number) })
      .catch((error: unknown) => {
        if (/BlockNotFound|could not be found/i.test(String((error as Error).message))) return undefined;
        throw error;
      });
    if (found !== undefined) return found.hash === block.hash;
    // Not found below the head: pruned from a compacted chain's history, not forked away.
    return block.number <= Number(await this.options.client.getBlockNumber({ cacheTime: 0 }));
  }

  private decode(log: Log): IndexedEvent | undefined {
    const source = this.sources.find((s) => s.address.toLowerCase() === log.address.toLowerCase());
    if (source === undefined || log.blockNumber === null || log.blockHash === null || log.logIndex === null) {
      return undefined;
    }
    let decoded: { eventName: string; args: unknown };
    try {
      decoded = decodeEventLog({
        abi: source.abi as typeof consortiumRegistryAbi,
        data: log.data,
        topics: log.topics,
      });
    } catch {
      return undefined;
    }
    const args: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries((decoded.args ?? {}) as Record<string, unknown>)) {
      args[key] = typeof value === 'bigint' ? value.toString() : (value as string | number | boolean);
    }
    return {
      blockNumber: Number(log.blockNumber),
      blockHash: log.blockHash,
      logIndex: log.logIndex,
      txHash: log.transactionHash ?? '0x',
      contract: source.contract,
      name: decoded.eventName,
      args,
    };
  }

  async status(): Promise<SyncStatus> {
    const cursor = await this.options.storage.cursor();
    const indexed = cursor?.number ?? null;
    return {
      headBlock: this.head,
      indexedBlock: indexed,
      lagBlocks: this.head === null || indexed === null ? null : Math.max(0, this.head - indexed),
      lagSeconds:
        this.indexedTimestamp === null ? null : Math.max(0, this.now() / 1000 - this.indexedTimestamp),
      lastError: this.lastError,
      reorgs: this.reorgs,
      events: await this.options.storage.eventCount(),
    };
  }
}
