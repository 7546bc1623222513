import type { Address, Hex } from 'viem';
import type {
  OpeningDeliveryCounts,
  OpeningDeliveryStore,
  QueuedOpeningDelivery,
} from '../../consent/opening-delivery-queue.js';
import { type OpeningDeliveryRow as Row, toDelivery } from '../opening-delivery-rows.js';
import type { PostgresDatabase } from './postgres-database.js';

/**
 * The opening delivery queue (decision 0013) on PostgreSQL (schema version 4): the same rows and
 * statements as the SQLite store, each one statement, so a pair's state moves in one step whichever
 * node process moves it.
 */
export class PostgresOpeningDeliveryStore implements OpeningDeliveryStore {
  constructor(private readonly db: PostgresDatabase) {}

  async enqueue(grantId: Hex, member: Address, now: number): Promise<void> {
    // A delivered pair stays delivered; a failed one (gave up, or the member was away) starts over.
    await this.db.execute(
      `INSERT INTO opening_deliveries (grant_id, member, state, attempts, next_attempt_at, last_error, updated_at)
       VALUES ($1, $2, 'pending', 0, $3, NULL, $3)
       ON CONFLICT (grant_id, member) DO UPDATE SET state = 'pending', attempts = 0,
         next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at
       WHERE opening_deliveries.state = 'failed'`,
      [grantId.toLowerCase(), member.toLowerCase(), now],
    );
  }

  async get(grantId: Hex, member: Address): Promise<QueuedOpeningDelivery | undefined> {
    const [row] = await this.db.query<Row>(
      `SELECT grant_id, member, attempts, next_attempt_at FROM opening_deliveries
       WHERE grant_id = $1 AND member = $2 AND state = 'pending'`,
      [grantId.toLowerCase(), member.toLowerCase()],
    );
    return row === undefined ? undefined : toDelivery(row);
  }

  async due(now: number, limit: number): Promise<QueuedOpeningDelivery[]> {
    const rows = await this.db.query<Row>(
      `SELECT grant_id, member, attempts, next_attempt_at FROM opening_deliveries
       WHERE state = 'pending' AND next_attempt_at <= $1
       ORDER BY next_attempt_at, grant_id, member LIMIT $2`,
      [now, limit],
    );
    return rows.map(toDelivery);
  }

  async claim(
    grantId: Hex,
    member: Address,
    now: number,
    until: number,
  ): Promise<QueuedOpeningDelivery | undefined> {
    // One statement: of two processes claiming the same due pair, only one UPDATE matches (the
    // second waits for the first's row lock, then re-checks next_attempt_at and skips).
    const [row] = await this.db.query<Row>(
      `UPDATE opening_deliveries SET next_attempt_at = $1
       WHERE grant_id = $2 AND member = $3 AND state = 'pending' AND next_attempt_at <= $4
       RETURNING grant_id, member, attempts, next_attempt_at`,
      [until, grantId.toLowerCase(), member.toLowerCase(), now],
    );
    return row === undefined ? undefined : toDelivery(row);
  }

  async markDelivered(grantId: Hex, member: Address, now: number): Promise<void> {
    await this.db.execute(
      `UPDATE opening_deliveries SET state = 'delivered', attempts = attempts + 1, last_error = NULL,
         updated_at = $1 WHERE grant_id = $2 AND member = $3`,
      [now, grantId.toLowerCase(), member.toLowerCase()],
    );
  }

  async markRetry(
    grantId: Hex,
    member: Address,
    nextAttemptAt: number,
    error: string,
    now: number,
  ): Promise<void> {
    await this.db.execute(
      `UPDATE opening_deliveries SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2,
         updated_at = $3 WHERE grant_id = $4 AND member = $5 AND state = 'pending'`,
      [nextAttemptAt, error, now, grantId.toLowerCase(), member.toLowerCase()],
    );
  }

  async markFailed(grantId: Hex, member: Address, error: string, now: number): Promise<void> {
    await this.db.execute(
      `UPDATE opening_deliveries SET state = 'failed', last_error = $1, updated_at = $2
       WHERE grant_id = $3 AND member = $4 AND state = 'pending'`,
      [error, now, grantId.toLowerCase(), member.toLowerCase()],
    );
  }

  async counts(): Promise<OpeningDeliveryCounts> {
    const result = { pending: 0, delivered: 0, failed: 0 };
    const rows = await this.db.query<{ state: keyof typeof result; n: number }>(
      'SELECT state, COUNT(*) AS n FROM opening_deliveries GROUP BY state',
    );
    for (const row of rows) result[row.state] = row.n;
    const [last] = await this.db.query<{ last_error: string }>(
      `SELECT last_error FROM opening_deliveries WHERE last_error IS NOT NULL AND state <> 'delivered'
       ORDER BY updated_at DESC LIMIT 1`,
    );
    return { ...result, lastError: last?.last_error ?? null };
  }
}
