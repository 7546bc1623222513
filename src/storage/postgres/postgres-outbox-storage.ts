import type { Address, Hex } from 'viem';
import type {
  NewOutboxEntry,
  OutboxEntry,
  OutboxStatus,
  OutboxStorage,
} from '../../ledger/outbox-storage.js';
import { type OutboxRow, toEntry } from '../sqlite/sqlite-outbox-storage.js';
import type { PostgresDatabase } from './postgres-database.js';

/** OutboxStorage on PostgreSQL; the same rows as SqliteOutboxStorage. */
export class PostgresOutboxStorage implements OutboxStorage {
  constructor(private readonly db: PostgresDatabase) {}

  async #one(sql: string, params: readonly unknown[]): Promise<OutboxEntry | undefined> {
    const [row] = await this.db.query<OutboxRow>(sql, params);
    return row === undefined ? undefined : toEntry(row);
  }

  async insert(entry: NewOutboxEntry): Promise<OutboxEntry> {
    const row = await this.#one(
      `INSERT INTO outbox (label, sender, recipient, nonce, raw_tx, tx_hash, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'sent', $7) RETURNING *`,
      [entry.label, entry.from, entry.to, entry.nonce, entry.rawTransaction, entry.txHash, entry.createdAt],
    );
    return row as OutboxEntry;
  }

  /** No conflict target: the same nonce signed twice with the same call is also the same tx_hash. */
  insertUnlessNonceTaken(entry: NewOutboxEntry): Promise<OutboxEntry | undefined> {
    return this.#one(
      `INSERT INTO outbox (label, sender, recipient, nonce, raw_tx, tx_hash, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'sent', $7) ON CONFLICT DO NOTHING RETURNING *`,
      [entry.label, entry.from, entry.to, entry.nonce, entry.rawTransaction, entry.txHash, entry.createdAt],
    );
  }

  get(id: number): Promise<OutboxEntry | undefined> {
    return this.#one('SELECT * FROM outbox WHERE id = $1', [id]);
  }

  getByHash(txHash: Hex): Promise<OutboxEntry | undefined> {
    return this.#one('SELECT * FROM outbox WHERE tx_hash = $1', [txHash]);
  }

  async listUnconfirmed(from: Address): Promise<OutboxEntry[]> {
    const rows = await this.db.query<OutboxRow>(
      "SELECT * FROM outbox WHERE sender = $1 AND status = 'sent' ORDER BY nonce",
      [from],
    );
    return rows.map(toEntry);
  }

  async listConfirmedFromTop(from: Address, limit: number): Promise<OutboxEntry[]> {
    const rows = await this.db.query<OutboxRow>(
      `SELECT * FROM outbox WHERE sender = $1 AND status = 'confirmed'
       ORDER BY block_number DESC, nonce DESC LIMIT $2`,
      [from, limit],
    );
    return rows.map(toEntry);
  }

  async highestNonce(from: Address): Promise<number | undefined> {
    const [row] = await this.db.query<{ n: number | null }>(
      'SELECT MAX(nonce) AS n FROM outbox WHERE sender = $1',
      [from],
    );
    return row?.n ?? undefined;
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
    await this.db.execute(
      `UPDATE outbox SET status = 'confirmed', block_number = $1, block_hash = $2, receipt_status = $3,
         contract_address = $4, error = NULL WHERE id = $5`,
      [receipt.blockNumber, receipt.blockHash, receipt.status, receipt.contractAddress, id],
    );
  }

  async markUnconfirmed(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.execute(
      `UPDATE outbox SET status = 'sent', block_number = NULL, block_hash = NULL, receipt_status = NULL
       WHERE id = ANY($1::bigint[])`,
      [ids],
    );
  }

  async markFailed(id: number, error: string): Promise<void> {
    await this.db.execute("UPDATE outbox SET status = 'failed', error = $1 WHERE id = $2", [error, id]);
  }

  async noteSendAttempt(id: number): Promise<void> {
    await this.db.execute('UPDATE outbox SET send_attempts = send_attempts + 1 WHERE id = $1', [id]);
  }

  async counts(from: Address): Promise<Record<OutboxStatus, number>> {
    const result: Record<OutboxStatus, number> = { sent: 0, confirmed: 0, failed: 0 };
    const rows = await this.db.query<{ status: OutboxStatus; n: number }>(
      'SELECT status, COUNT(*) AS n FROM outbox WHERE sender = $1 GROUP BY status',
      [from],
    );
    for (const row of rows) result[row.status] = row.n;
    return result;
  }
}
