import { CareLedgerError, isCareLedgerError } from '../../errors/index.js';
import type { PgQueryable, PostgresDatabase } from './postgres-database.js';
import type { LogWriteFence } from './postgres-log-storage.js';

/** Who holds the log sequencer lease of a member, as the database says (decision 0022). */
export interface SequencerLeaseState {
  readonly holder: string;
  readonly epoch: number;
  /** Milliseconds until it expires by the database's clock; negative once expired. */
  readonly expiresInMs: number;
}

/** The error of a write made by a process that no longer holds the lease of its epoch. */
export function sequencerFencedError(epoch: number): CareLedgerError {
  return new CareLedgerError('ERR_LOG_UNAVAILABLE', 'this process no longer sequences the log', {
    details: { reason: 'sequencer-fenced', epoch },
  });
}

/** True for the fence's refusal, wherever it sits in an error's cause chain. */
export function isSequencerFenced(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; depth++) {
    if (isCareLedgerError(e) && (e.details as { reason?: unknown }).reason === 'sequencer-fenced')
      return true;
    e = (e as { cause?: unknown } | null)?.cause;
  }
  return false;
}

/**
 * The one-row lease that elects a member's log sequencer among every process sharing its PostgreSQL
 * database, with a fencing token (Kleppmann, "How to do distributed locking", 2016; Trillian's and
 * Tessera's sequencers over a shared database). Each acquisition increments `epoch`; every write of the
 * sequencer checks its epoch inside its own transaction (`fence`), holding the row FOR SHARE until it
 * commits, so once another process took the lease no write of an older epoch can commit.
 *
 * Expiry is by the database's clock (`clock_timestamp()`), never by the processes' clocks, so holders
 * on machines whose clocks disagree still agree on who leads.
 */
export class PostgresSequencerLease {
  readonly #db: PostgresDatabase;
  readonly #holder: string;
  readonly #leaseMs: number;

  constructor(db: PostgresDatabase, holder: string, leaseMs: number) {
    if (!Number.isSafeInteger(leaseMs) || leaseMs < 100)
      throw new CareLedgerError('ERR_CONFIG', 'the sequencer lease lasts at least 100 ms', {
        details: { reason: 'lease-ms' },
      });
    this.#db = db;
    this.#holder = holder;
    this.#leaseMs = leaseMs;
  }

  get holder(): string {
    return this.#holder;
  }

  get leaseMs(): number {
    return this.#leaseMs;
  }

  /**
   * Takes the lease if nobody holds it or its holder let it expire; returns the new epoch, or undefined
   * when another process holds it. A holder in the middle of a write keeps the row locked: this waits
   * at most a second for it, then reports the lease as held.
   */
  async tryAcquire(): Promise<number | undefined> {
    try {
      return await this.#db.transaction(async (tx) => {
        await tx.execute("SET LOCAL lock_timeout = '1s'");
        // A plain UPDATE locks the row only if it matches (expired), so asking while the holder is alive
        // never stalls the holder's writes, which hold the row FOR SHARE.
        const [taken] = await tx.query<{ epoch: number }>(
          `UPDATE log_sequencer_lease
           SET holder = $1, epoch = epoch + 1,
               expires_at = clock_timestamp() + make_interval(secs => $2::double precision / 1000)
           WHERE id = 1 AND expires_at < clock_timestamp()
           RETURNING epoch`,
          [this.#holder, this.#leaseMs],
        );
        if (taken !== undefined) return taken.epoch;
        const [first] = await tx.query<{ epoch: number }>(
          `INSERT INTO log_sequencer_lease (id, holder, epoch, expires_at)
           VALUES (1, $1, 1, clock_timestamp() + make_interval(secs => $2::double precision / 1000))
           ON CONFLICT (id) DO NOTHING
           RETURNING epoch`,
          [this.#holder, this.#leaseMs],
        );
        return first?.epoch;
      });
    } catch (error) {
      // 55P03 lock_not_available: the holder is inside a write; it still holds the lease.
      if (isCareLedgerError(error) && (error.details as { sqlstate?: unknown }).sqlstate === '55P03')
        return undefined;
      throw error;
    }
  }

  /** Extends the lease of `epoch`; false when another process took it since (this one is fenced). */
  async renew(epoch: number): Promise<boolean> {
    const changed = await this.#db.execute(
      `UPDATE log_sequencer_lease
       SET expires_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000)
       WHERE id = 1 AND holder = $1 AND epoch = $2`,
      [this.#holder, epoch, this.#leaseMs],
    );
    return changed === 1;
  }

  /** Lets the lease of `epoch` expire now, so another process takes it without waiting (a planned stop). */
  async release(epoch: number): Promise<void> {
    await this.#db.execute(
      `UPDATE log_sequencer_lease SET expires_at = clock_timestamp() - interval '1 millisecond'
       WHERE id = 1 AND holder = $1 AND epoch = $2`,
      [this.#holder, epoch],
    );
  }

  /** The check each write of the sequencer of `epoch` runs in its transaction. */
  fence(epoch: number): LogWriteFence {
    return { check: (tx) => this.check(tx, epoch) };
  }

  /** Throws sequencerFencedError unless this process still holds the lease of `epoch`; locks the row. */
  async check(tx: PgQueryable, epoch: number): Promise<number> {
    const [row] = await tx.query<{ epoch: number }>(
      'SELECT epoch FROM log_sequencer_lease WHERE id = 1 AND holder = $1 AND epoch = $2 FOR SHARE',
      [this.#holder, epoch],
    );
    if (row === undefined) throw sequencerFencedError(epoch);
    return row.epoch;
  }

  async current(): Promise<SequencerLeaseState | undefined> {
    const [row] = await this.#db.query<{ holder: string; epoch: number; ms: number }>(
      `SELECT holder, epoch, (EXTRACT(EPOCH FROM expires_at - clock_timestamp()) * 1000)::float8 AS ms
       FROM log_sequencer_lease WHERE id = 1`,
    );
    return row === undefined ? undefined : { holder: row.holder, epoch: row.epoch, expiresInMs: row.ms };
  }
}
