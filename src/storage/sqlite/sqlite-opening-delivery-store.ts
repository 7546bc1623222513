import type { Address, Hex } from 'viem';
import type {
  OpeningDeliveryCounts,
  OpeningDeliveryStore,
  QueuedOpeningDelivery,
} from '../../consent/opening-delivery-queue.js';
import { type OpeningDeliveryRow as Row, toDelivery } from '../opening-delivery-rows.js';
import type { Migration, SqliteDatabase } from './open-database.js';

export const openingDeliveryMigrations: Migration[] = [
  {
    // Decision 0013: the openings this node still owes other members, until each acknowledges.
    // Grant ids and member addresses only (both public on chain); the opening stays sealed in
    // consent_openings, and errors are an HTTP status or an error name.
    id: 'opening-deliveries-001',
    sql: `
      CREATE TABLE opening_deliveries (
        grant_id TEXT NOT NULL,
        member TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts INTEGER NOT NULL,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (grant_id, member)
      );
      CREATE INDEX opening_deliveries_due ON opening_deliveries (state, next_attempt_at);
    `,
  },
];

/** The node's opening delivery queue in its SQLite database (survives restarts). */
export class SqliteOpeningDeliveryStore implements OpeningDeliveryStore {
  constructor(private readonly db: SqliteDatabase) {}

  async enqueue(grantId: Hex, member: Address, now: number): Promise<void> {
    // A delivered pair stays delivered; a failed one (gave up, or the member was away) starts over.
    this.db
      .prepare(
        `INSERT INTO opening_deliveries (grant_id, member, state, attempts, next_attempt_at, last_error, updated_at)
         VALUES (?, ?, 'pending', 0, ?, NULL, ?)
         ON CONFLICT (grant_id, member) DO UPDATE SET state = 'pending', attempts = 0,
           next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at
         WHERE state = 'failed'`,
      )
      .run(grantId.toLowerCase(), member.toLowerCase(), now, now);
  }

  async get(grantId: Hex, member: Address): Promise<QueuedOpeningDelivery | undefined> {
    const row = this.db
      .prepare(
        `SELECT grant_id, member, attempts, next_attempt_at FROM opening_deliveries
         WHERE grant_id = ? AND member = ? AND state = 'pending'`,
      )
      .get(grantId.toLowerCase(), member.toLowerCase()) as Row | undefined;
    return row === undefined ? undefined : toDelivery(row);
  }

  async due(now: number, limit: number): Promise<QueuedOpeningDelivery[]> {
    const rows = this.db
      .prepare(
        `SELECT grant_id, member, attempts, next_attempt_at FROM opening_deliveries
         WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, grant_id, member LIMIT ?`,
      )
      .all(now, limit) as Row[];
    return rows.map(toDelivery);
  }

  async claim(
    grantId: Hex,
    member: Address,
    now: number,
    until: number,
  ): Promise<QueuedOpeningDelivery | undefined> {
    // One statement: of two processes claiming the same due pair, only one UPDATE matches.
    const row = this.db
      .prepare(
        `UPDATE opening_deliveries SET next_attempt_at = ?
         WHERE grant_id = ? AND member = ? AND state = 'pending' AND next_attempt_at <= ?
         RETURNING grant_id, member, attempts, next_attempt_at`,
      )
      .get(until, grantId.toLowerCase(), member.toLowerCase(), now) as Row | undefined;
    return row === undefined ? undefined : toDelivery(row);
  }

  async markDelivered(grantId: Hex, member: Address, now: number): Promise<void> {
    this.db
      .prepare(
        `UPDATE opening_deliveries SET state = 'delivered', attempts = attempts + 1, last_error = NULL,
           updated_at = ? WHERE grant_id = ? AND member = ?`,
      )
      .run(now, grantId.toLowerCase(), member.toLowerCase());
  }

  async markRetry(
    grantId: Hex,
    member: Address,
    nextAttemptAt: number,
    error: string,
    now: number,
  ): Promise<void> {
    this.db
      .prepare(
        `UPDATE opening_deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
           updated_at = ? WHERE grant_id = ? AND member = ? AND state = 'pending'`,
      )
      .run(nextAttemptAt, error, now, grantId.toLowerCase(), member.toLowerCase());
  }

  async markFailed(grantId: Hex, member: Address, error: string, now: number): Promise<void> {
    this.db
      .prepare(
        `UPDATE opening_deliveries SET state = 'failed', last_error = ?, updated_at = ?
         WHERE grant_id = ? AND member = ? AND state = 'pending'`,
      )
      .run(error, now, grantId.toLowerCase(), member.toLowerCase());
  }

  async counts(): Promise<OpeningDeliveryCounts> {
    const result = { pending: 0, delivered: 0, failed: 0 };
    const rows = this.db
      .prepare('SELECT state, COUNT(*) AS n FROM opening_deliveries GROUP BY state')
      .all() as { state: keyof typeof result; n: number }[];
    for (const row of rows) result[row.state] = row.n;
    const last = this.db
      .prepare(
        `SELECT last_error FROM opening_deliveries WHERE last_error IS NOT NULL AND state != 'delivered'
         ORDER BY updated_at DESC LIMIT 1`,
      )
      .get() as { last_error: string } | undefined;
    return { ...result, lastError: last?.last_error ?? null };
  }
}
