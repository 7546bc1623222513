import type { Address, Hex } from 'viem';

export type OutboxStatus = 'sent' | 'confirmed' | 'failed';

/** One transaction the node signed. It is stored before it is sent, so a crash loses nothing. */
export interface OutboxEntry {
  readonly id: number;
  /** What the transaction does, for operators (`relayGrant`, `anchor`, ...). Never PHI. */
  readonly label: string;
  readonly from: Address;
  readonly to: Address | null;
  readonly nonce: number;
  readonly rawTransaction: Hex;
  readonly txHash: Hex;
  readonly status: OutboxStatus;
  readonly blockNumber: number | null;
  readonly blockHash: Hex | null;
  /** 'success' or 'reverted' once mined. */
  readonly receiptStatus: 'success' | 'reverted' | null;
  readonly contractAddress: Address | null;
  readonly error: string | null;
  readonly createdAt: number;
  readonly sendAttempts: number;
}

export interface NewOutboxEntry {
  readonly label: string;
  readonly from: Address;
  readonly to: Address | null;
  readonly nonce: number;
  readonly rawTransaction: Hex;
  readonly txHash: Hex;
  readonly createdAt: number;
}

/** What the outbox needs from storage (SQLite and PostgreSQL). */
export interface OutboxStorage {
  /** Durable on return (the acknowledgement point of every ledger write). */
  insert(entry: NewOutboxEntry): Promise<OutboxEntry>;
  /**
   * `insert`, unless a row already holds this sender and nonce (another process of the member, which
   * shares the key and this table, took it first): then nothing is stored and it returns undefined.
   * The table's UNIQUE (sender, nonce) decides atomically, across processes and connections.
   */
  insertUnlessNonceTaken(entry: NewOutboxEntry): Promise<OutboxEntry | undefined>;
  get(id: number): Promise<OutboxEntry | undefined>;
  getByHash(txHash: Hex): Promise<OutboxEntry | undefined>;
  /** Entries not yet confirmed, lowest nonce first. */
  listUnconfirmed(from: Address): Promise<OutboxEntry[]>;
  /** Confirmed entries, highest block first, at most `limit`. */
  listConfirmedFromTop(from: Address, limit: number): Promise<OutboxEntry[]>;
  highestNonce(from: Address): Promise<number | undefined>;
  markConfirmed(
    id: number,
    receipt: {
      blockNumber: number;
      blockHash: Hex;
      status: 'success' | 'reverted';
      contractAddress: Address | null;
    },
  ): Promise<void>;
  markUnconfirmed(ids: readonly number[]): Promise<void>;
  markFailed(id: number, error: string): Promise<void>;
  noteSendAttempt(id: number): Promise<void>;
  counts(from: Address): Promise<Record<OutboxStatus, number>>;
}
