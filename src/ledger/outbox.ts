import { type Address, type Hex, keccak256, type PrivateKeyAccount, type PublicClient } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { isChainUnreachable, toLedgerError } from './decode-revert.js';
import type { OutboxEntry, OutboxStorage } from './outbox-storage.js';

export interface OutboxRequest {
  readonly label: string;
  /** null deploys a contract. */
  readonly to: Address | null;
  readonly data: Hex;
}

export interface OutboxOptions {
  readonly storage: OutboxStorage;
  readonly account: PrivateKeyAccount;
  readonly client: PublicClient;
  readonly chainId: number;
  /**
   * A fixed gas price. Without it each signing prices from the latest block's base fee: 0 on the
   * embedded anvil and on a zero-base-fee Besu network, the going price on a chain with a base fee.
   */
  readonly gasPrice?: bigint;
  readonly now?: () => number;
  readonly onLog?: (line: string) => void;
}

/** How long a gas price read from the chain is reused. */
const GAS_PRICE_TTL_MS = 1_000;
/** How far back (in confirmed entries) a rollback check walks before giving up on finding the fork. */
const ROLLBACK_SCAN_LIMIT = 10_000;
/** How often a submit signs again after other processes of the member took the nonce it read. */
const NONCE_ATTEMPTS = 50;
/**
 * With nothing waiting for a receipt, how often a timer tick still asks the chain whether confirmed
 * blocks were lost (decision 0034): a lost transaction is then sent again within this time, not
 * within one tick; an explicit `pump` always asks.
 */
export const IDLE_LOST_BLOCK_CHECK_MS = 2_000;

/**
 * The durable outbox: every transaction the node signs is stored (SQLite, fsynced) before it is sent.
 * The store is the acknowledgement point: once `submit` resolves, the write reaches the chain
 * eventually, whatever crashes. `pump` (run every tick) confirms receipts, re-sends what the chain
 * does not have, and notices when the chain lost blocks (an anvil restarted from an older snapshot,
 * a re-org): entries whose block is gone become unconfirmed again and are re-sent, in nonce order.
 */
export class Outbox {
  private chainNonceFloor: number | undefined;
  private quotedPrice: { readonly price: bigint; readonly at: number } | undefined;
  private signing: Promise<unknown> = Promise.resolve();
  private pumping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly waiters = new Map<number, Set<() => void>>();
  private readonly now: () => number;
  /** When a pass last asked the chain for lost blocks. */
  private lostBlocksCheckedAt = Number.NEGATIVE_INFINITY;
  readonly address: Address;

  constructor(private readonly options: OutboxOptions) {
    this.now = options.now ?? Date.now;
    this.address = options.account.address;
  }

  /**
   * Simulates the call (a revert is refused before anything is signed, with the contract's named
   * error), then signs it with the next nonce, stores it durably, and sends it.
   */
  async submit(request: OutboxRequest): Promise<OutboxEntry> {
    const { client, account } = this.options;
    let gas: bigint;
    try {
      // A call to an address without code "succeeds" and would be signed with a tiny gas limit: refuse it
      // (a wrong deployment record, or a chain that lost its state).
      if (request.to !== null && (await client.getCode({ address: request.to })) === undefined) {
        throw new CareLedgerError(
          'ERR_CONFIG',
          `no contract at ${request.to} on this chain (${request.label})`,
        );
      }
      await client.call({ account: account.address, to: request.to ?? undefined, data: request.data });
      gas = await client.estimateGas({
        account: account.address,
        to: request.to ?? undefined,
        data: request.data,
      });
    } catch (error) {
      throw toLedgerError(error, request.label);
    }
    // State may change between the estimate and inclusion; gas is free on this chain, so be generous.
    const gasLimit = (gas * 3n) / 2n + 50_000n;
    const gasPrice = await this.gasPrice(request.label);
    const entry = await this.serialize(() => this.signAndStore(request, gasLimit, gasPrice));
    void this.send(entry).catch(() => undefined);
    return entry;
  }

  /**
   * A legacy transaction pays one price, which EIP-1559 requires to be at least the block's base fee:
   * twice the latest base fee leaves room for it to rise before inclusion. A zero base fee (the
   * embedded anvil, a zero-gas Besu network) gives 0, so no account needs a balance. Not eth_gasPrice:
   * clients add a suggested tip to it (anvil answers 1 gwei even with --gas-price 0).
   */
  private async gasPrice(label: string): Promise<bigint> {
    if (this.options.gasPrice !== undefined) return this.options.gasPrice;
    // One read per second at most: a burst of submits shares it (the doubling covers a second's rise).
    if (this.quotedPrice !== undefined && this.now() - this.quotedPrice.at < GAS_PRICE_TTL_MS)
      return this.quotedPrice.price;
    try {
      const block = await this.options.client.getBlock({ blockTag: 'latest' });
      // A chain before London has no base fee: its own price suggestion is the going rate.
      const price =
        block.baseFeePerGas === null ? await this.options.client.getGasPrice() : block.baseFeePerGas * 2n;
      this.quotedPrice = { price, at: this.now() };
      return price;
    } catch (error) {
      throw toLedgerError(error, label);
    }
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const result = this.signing.then(task, task);
    this.signing = result.catch(() => undefined);
    return result;
  }

  /**
   * Signs with the next free nonce and stores the transaction. The nonce is read from the table each
   * time, never counted in this process: a member's primary and workers (every process on PostgreSQL)
   * share the key and the table. When another process stores the same nonce first, the insert stores
   * nothing and this signs again with the next one; the table's UNIQUE (sender, nonce) decides.
   */
  private async signAndStore(request: OutboxRequest, gas: bigint, gasPrice: bigint): Promise<OutboxEntry> {
    const { account, storage } = this.options;
    for (let attempt = 0; attempt < NONCE_ATTEMPTS; attempt++) {
      const nonce = await this.freeNonce();
      const rawTransaction = await account.signTransaction({
        type: 'legacy',
        chainId: this.options.chainId,
        nonce,
        to: request.to ?? undefined,
        data: request.data,
        gas,
        gasPrice,
        value: 0n,
      });
      const entry = await storage.insertUnlessNonceTaken({
        label: request.label,
        from: account.address,
        to: request.to,
        nonce,
        rawTransaction,
        txHash: keccak256(rawTransaction),
        createdAt: this.now(),
      });
      if (entry !== undefined) return entry;
    }
    throw new CareLedgerError(
      'ERR_OUTBOX',
      `no free nonce after ${NONCE_ATTEMPTS} attempts; the transaction was not stored (${request.label})`,
    );
  }

  /**
   * One above the highest stored nonce of this sender, and at least the chain's pending nonce (read
   * once per process: it covers transactions the table does not hold, such as a fresh database for a
   * key that has sent before; everything sent after that is in the table).
   */
  private async freeNonce(): Promise<number> {
    if (this.chainNonceFloor === undefined) {
      try {
        this.chainNonceFloor = await this.options.client.getTransactionCount({
          address: this.address,
          blockTag: 'pending',
        });
      } catch (error) {
        throw toLedgerError(error, 'read the account nonce');
      }
    }
    const stored = await this.options.storage.highestNonce(this.address);
    return Math.max(this.chainNonceFloor, stored === undefined ? 0 : stored + 1);
  }

  private async send(entry: OutboxEntry): Promise<void> {
    await this.options.storage.noteSendAttempt(entry.id);
    try {
      await this.options.client.sendRawTransaction({ serializedTransaction: entry.rawTransaction });
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      // Already in the pool or already mined: both fine, `pump` will see the receipt.
      if (/already known|already imported|nonce too low|known transaction/i.test(text)) return;
      throw error;
    }
  }

  /** Resolves once the entry is mined (`success` or `reverted`) or failed; rejects after the timeout. */
  async waitForConfirmation(id: number, timeoutMs = 60_000): Promise<OutboxEntry> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const entry = await this.options.storage.get(id);
      if (entry === undefined) throw new CareLedgerError('ERR_OUTBOX', `no outbox entry ${id}`);
      if (entry.status !== 'sent') return entry;
      if (this.now() >= deadline) {
        throw new CareLedgerError(
          'ERR_CHAIN_UNAVAILABLE',
          'the transaction is stored but not yet mined; it will be re-sent',
          {
            details: { outboxId: id, txHash: entry.txHash },
          },
        );
      }
      await new Promise<void>((resolve) => {
        const set = this.waiters.get(id) ?? new Set();
        const wake = () => {
          clearTimeout(timer);
          set.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, 250);
        set.add(wake);
        this.waiters.set(id, set);
      });
    }
  }

  start(intervalMs = 500): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      void this.pumpWhenDue().catch((error: unknown) =>
        this.options.onLog?.(`outbox: ${(error as Error).message.split('\n')[0] ?? 'reconcile failed'}`),
      );
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    // A pass that failed (the chain went away) is the pump's to retry on the next start, not stop's.
    await this.pumping?.catch(() => undefined);
  }

  /**
   * For a planned stop: reconciles until every stored entry is mined, or `timeoutMs` has passed (a
   * chain that does not answer). Returns how many are still unmined: they stay stored and are re-sent
   * on the next start, so a short drain loses nothing; it only keeps that replay empty.
   */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      await this.pump().catch(() => undefined);
      const { sent } = await this.counts();
      if (sent === 0 || this.now() >= deadline) return sent;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /**
   * One timer tick: a full pass while entries wait for their receipt or when the lost-block check is
   * due (every IDLE_LOST_BLOCK_CHECK_MS); otherwise one read of the table and no call to the chain.
   */
  async pumpWhenDue(): Promise<void> {
    if (this.now() - this.lostBlocksCheckedAt < IDLE_LOST_BLOCK_CHECK_MS) {
      if ((await this.options.storage.listUnconfirmed(this.address)).length === 0) return;
    }
    await this.pump();
  }

  /** One reconciliation pass; concurrent callers share it. */
  pump(): Promise<void> {
    if (this.pumping !== undefined) return this.pumping;
    this.pumping = this.reconcile().finally(() => {
      this.pumping = undefined;
    });
    return this.pumping;
  }

  private async reconcile(): Promise<void> {
    const { client, storage } = this.options;
    const checkedAt = this.now();
    await this.detectLostBlocks();
    this.lostBlocksCheckedAt = checkedAt;
    const pending = await storage.listUnconfirmed(this.address);
    for (const entry of pending) {
      const receipt = await client.getTransactionReceipt({ hash: entry.txHash }).catch(() => undefined);
      if (receipt !== undefined) {
        await storage.markConfirmed(entry.id, {
          blockNumber: Number(receipt.blockNumber),
          blockHash: receipt.blockHash,
          status: receipt.status,
          contractAddress: receipt.contractAddress ?? null,
        });
        this.wake(entry.id);
        continue;
      }
      try {
        await this.send(entry);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        if (isChainUnreachable(error)) return; // chain down: next tick
        this.options.onLog?.(
          `outbox: re-send of ${entry.label} (nonce ${entry.nonce}) failed: ${text.split('\n')[0]}`,
        );
      }
    }
  }

  /**
   * Walks confirmed entries from the highest block down while their block hash is no longer on the
   * chain, and marks them unconfirmed. The first entry whose block is still there ends the walk: a
   * chain is a hash chain, so everything below it is still there too.
   */
  private async detectLostBlocks(): Promise<void> {
    const { client, storage } = this.options;
    const confirmed = await storage.listConfirmedFromTop(this.address, ROLLBACK_SCAN_LIMIT);
    const lost: number[] = [];
    const checked = new Map<number, boolean>();
    for (const entry of confirmed) {
      const number = entry.blockNumber as number;
      let present = checked.get(number);
      if (present === undefined) {
        const block = await client.getBlock({ blockNumber: BigInt(number) }).catch((error: unknown) => {
          if (isChainUnreachable(error)) throw error;
          return undefined;
        });
        // A block the chain no longer has although it is below the head was pruned from history
        // (compacted embedded chain): it is final, not lost. A block above the head is lost.
        present =
          block === undefined
            ? number <= Number(await client.getBlockNumber({ cacheTime: 0 }))
            : block.hash === entry.blockHash;
        checked.set(number, present);
      }
      if (present) break;
      lost.push(entry.id);
    }
    if (lost.length > 0) {
      this.options.onLog?.(
        `outbox: ${lost.length} confirmed transaction(s) are no longer on the chain; re-sending`,
      );
      // Their nonces stay theirs: they are re-sent as signed, and their rows stay in the table, so the
      // next submit still takes a nonce above them.
      await storage.markUnconfirmed(lost);
    }
  }

  private wake(id: number): void {
    for (const wake of this.waiters.get(id) ?? []) wake();
    this.waiters.delete(id);
  }

  getByHash(txHash: Hex): Promise<OutboxEntry | undefined> {
    return this.options.storage.getByHash(txHash);
  }

  async counts(): Promise<Record<'sent' | 'confirmed' | 'failed', number>> {
    return this.options.storage.counts(this.address);
  }
}
