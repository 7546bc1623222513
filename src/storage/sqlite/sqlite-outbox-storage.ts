import type { Address, Hex } from 'viem';
import type {
  NewOutboxEntry,
  OutboxEntry,
  OutboxStatus,
  OutboxStorage,
} from '../../ledger/outbox-storage.js';
import type { Migration, SqliteDatabase } from './open-database.js';

export const outboxMigrations: Migration[] = [
  {
    id: 'outbox-001',
    sql: `
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        label TEXT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT,
        nonce INTEGER NOT NULL,
        raw_tx TEXT NOT NULL,
        tx_hash TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('sent', 'confirmed', 'failed')),
        block_number INTEGER,
        block_hash TEXT,
        receipt_status TEXT,
        contract_address TEXT,
        error TEXT,
        created_at INTEGER NOT NULL,
        send_attempts INTEGER NOT NULL DEFAULT 0,
        UNIQUE (sender, nonce)
      );
      CREATE INDEX outbox_status ON outbox (sender, status, nonce);
      CREATE INDEX outbox_block ON outbox (sender, status, block_number);
    `,
  },
];

export interface OutboxRow {
  id: number;
  label: string;
  sender: string;
  recipient: string | null;
  nonce: number;
  raw_tx: string;
  tx_hash: string;
  status: OutboxStatus;
  block_number: number | null;
  block_hash: string | null;
  receipt_status: 'success' | 'reverted' | null;
  contract_address: string | null;
  error: string | null;
  created_at: number;
  send_attempts: number;
}

export function toEntry(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    label: row.label,
    from: row.sender as Address,
    to: row.recipient as Address | null,
    nonce: row.nonce,
    rawTransaction: row.raw_tx as Hex,
    txHash: row.tx_hash as Hex,
    status: row.status,
    blockNumber: row.block_number,
    blockHash: row.block_hash as Hex | null,
    receiptStatus: row.receipt_status,
    contractAddress: row.contract_address as Address | null,
    error: row.error,
    createdAt: row.created_at,
    sendAttempts: row.send_attempts,
  };
}

export class SqliteOutboxStorage implements OutboxStorage {
  private readonly statements;

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO outbox (label, sender, recipient, nonce, raw_tx, tx_hash, status, created_at)
         VALUES (@label, @from, @to, @nonce, @rawTransaction, @txHash, 'sent', @createdAt) RETURNING *`,
      ),
      // No conflict target: the same nonce signed twice with the same call is also the same tx_hash.
      insertUnlessTaken: db.prepare(
        `INSERT INTO outbox (label, sender, recipient, nonce, raw_tx, tx_hash, status, created_at)
         VALUES (@label, @from, @to, @nonce, @rawTransaction, @txHash, 'sent', @createdAt)
         ON CONFLICT DO NOTHING RETURNING *`,
      ),
      get: db.prepare('SELECT * FROM outbox WHERE id = ?'),
      getByHash: db.prepare('SELECT * FROM outbox WHERE tx_hash = ?'),
      unconfirmed: db.prepare("SELECT * FROM outbox WHERE sender = ? AND status = 'sent' ORDER BY nonce"),
      confirmedTop: db.prepare(
        "SELECT * FROM outbox WHERE sender = ? AND status = 'confirmed' ORDER BY block_number DESC, nonce DESC LIMIT ?",
      ),
      highestNonce: db.prepare('SELECT MAX(nonce) AS n FROM outbox WHERE sender = ?'),
      confirm: db.prepare(
        `UPDATE outbox SET status = 'confirmed', block_number = ?, block_hash = ?, receipt_status = ?,
         contract_address = ?, error = NULL WHERE id = ?`,
      ),
      unconfirm: db.prepare(
        "UPDATE outbox SET status = 'sent', block_number = NULL, block_hash = NULL, receipt_status = NULL WHERE id = ?",
      ),
      fail: db.prepare("UPDATE outbox SET status = 'failed', error = ? WHERE id = ?"),
      attempt: db.prepare('UPDATE outbox SET send_attempts = send_attempts + 1 WHERE id = ?'),
      counts: db.prepare('SELECT status, COUNT(*) AS n FROM outbox WHERE sender = ? GROUP BY status'),
    };
  }

  async insert(entry: NewOutboxEntry): Promise<OutboxEntry> {
    return toEntry(this.statements.insert.get(entry) as OutboxRow);
  }

  async insertUnlessNonceTaken(entry: NewOutboxEntry): Promise<OutboxEntry | undefined> {
    const row = this.statements.insertUnlessTaken.get(entry) as OutboxRow | undefined;
    return row === undefined ? undefined : toEntry(row);
  }

  async get(id: number): Promise<OutboxEntry | undefined> {
    const row = this.statements.get.get(id) as OutboxRow | undefined;
    return row === undefined ? undefined : toEntry(row);
  }

  async getByHash(txHash: Hex): Promise<OutboxEntry | undefined> {
    const row = this.statements.getByHash.get(txHash) as OutboxRow | undefined;
    return row === undefined ? undefined : toEntry(row);
  }

  async listUnconfirmed(from: Address): Promise<OutboxEntry[]> {
    return (this.statements.unconfirmed.all(from) as OutboxRow[]).map(toEntry);
  }

  async listConfirmedFromTop(from: Address, limit: number): Promise<OutboxEntry[]> {
    return (this.statements.confirmedTop.all(from, limit) as OutboxRow[]).map(toEntry);
  }

  async highestNonce(from: Address): Promise<number | undefined> {
    const row = this.statements.highestNonce.get(from) as { n: number | null };
    return row.n ?? undefined;
  }

  async markConfirmed(
    id: number,
    receipt: {
      blockNumber: number;
      blockHash: Hex;
      status: 'success' | 'reverted';
      contractAddress: Address | null;
    },
  ): Promise<void> {
    this.statements.confirm.run(
      receipt.blockNumber,
      receipt.blockHash,
      receipt.status,
      receipt.contractAddress,
      id,
    );
  }

  async markUnconfirmed(ids: readonly number[]): Promise<void> {
    this.db
      .transaction(() => {
        for (const id of ids) this.statements.unconfirm.run(id);
      })
      .immediate();
  }

  async markFailed(id: number, error: string): Promise<void> {
    this.statements.fail.run(error, id);
  }

  async noteSendAttempt(id: number): Promise<void> {
    this.statements.attempt.run(id);
  }

  async counts(from: Address): Promise<Record<OutboxStatus, number>> {
    const result: Record<OutboxStatus, number> = { sent: 0, confirmed: 0, failed: 0 };
    for (const row of this.statements.counts.all(from) as { status: OutboxStatus; n: number }[]) {
      result[row.status] = row.n;
    }
    return result;
  }
}
