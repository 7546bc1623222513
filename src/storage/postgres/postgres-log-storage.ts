import { CareLedgerError } from '../../errors/index.js';
import {
  type CommitGroup,
  checkAppendBatch,
  type LogAppendBatch,
  type LogStorage,
  type StoredCheckpoint,
  type WitnessLogState,
} from '../../log/log-storage.js';
import {
  bytes,
  type CheckpointRow,
  checkpointFromRow,
  checkRange,
  type WitnessRow,
  witnessFromRow,
} from '../log-storage-rows.js';
import type { PgQueryable, PostgresDatabase } from './postgres-database.js';

/**
 * Applies one group of commit writes on the append's transaction client (the vault's:
 * applyVaultCommitGroupPostgres). A rejection rolls the whole batch back.
 */
export type PgApplyCommitGroup = (tx: PgQueryable, group: CommitGroup) => Promise<void>;

const refuse: PgApplyCommitGroup = async () => {
  throw new CareLedgerError('ERR_STORAGE', 'this log storage was not given a way to apply commit writes', {
    details: { reason: 'no-commit-applier' },
  });
};

/**
 * A check every write of the log runs first, inside its own transaction (decision 0022): the elected
 * sequencer's fencing token. It throws when the writer no longer holds the lease, which rolls the
 * write back; it returns the epoch, which a signed checkpoint records.
 */
export interface LogWriteFence {
  check(tx: PgQueryable): Promise<number>;
}

/** Appends to one log are serialised in the database, whichever process of the node makes them. */
const APPEND_LOCK_KEY = 0x6c6f_6761_7070;

function dense(rows: { idx: number }[], start: number, end: number): void {
  if (rows.length !== end - start || rows.some((row, i) => row.idx !== start + i)) {
    throw new CareLedgerError('ERR_STORAGE', 'log rows are missing', { details: { reason: 'missing' } });
  }
}

/** LogStorage on PostgreSQL, the same tables as SqliteLogStorage. */
export class PostgresLogStorage implements LogStorage {
  readonly #db: PostgresDatabase;
  readonly #apply: PgApplyCommitGroup;
  readonly #ownsDb: boolean;
  readonly #fence: LogWriteFence | undefined;

  constructor(
    db: PostgresDatabase,
    options: { applyCommitGroup?: PgApplyCommitGroup; closeDatabase?: boolean; fence?: LogWriteFence } = {},
  ) {
    this.#db = db;
    this.#apply = options.applyCommitGroup ?? refuse;
    this.#ownsDb = options.closeDatabase ?? false;
    this.#fence = options.fence;
  }

  async #count(tx: PgQueryable, sql: string, params: readonly unknown[] = []): Promise<number> {
    const [row] = await tx.query<{ n: number }>(sql, params);
    return row?.n ?? 0;
  }

  size(): Promise<number> {
    return this.#count(this.#db, 'SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_leaves');
  }

  async appendBatch(batch: LogAppendBatch): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.execute('SELECT pg_advisory_xact_lock($1)', [APPEND_LOCK_KEY]);
      await this.#fence?.check(tx);
      const size = await this.#count(tx, 'SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_leaves');
      const levels = [...new Set(batch.nodeHashes.map((node) => node.level))];
      const counts = new Map<number, number>();
      for (const level of levels) {
        counts.set(
          level,
          await this.#count(tx, 'SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_nodes WHERE level = $1', [
            level,
          ]),
        );
      }
      checkAppendBatch(batch, size, (level) => counts.get(level) ?? 0);
      if (batch.entries.length > 0) {
        // One statement per batch (unnest of arrays), not one round trip per leaf.
        await tx.execute(
          `INSERT INTO log_leaves (idx, leaf_hash, entry)
           SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])`,
          [
            batch.entries.map((_, i) => batch.startIndex + i),
            batch.leafHashes.map((hash) => Buffer.from(hash)),
            batch.entries.map((entry) => Buffer.from(entry)),
          ],
        );
      }
      if (batch.nodeHashes.length > 0) {
        await tx.execute(
          'INSERT INTO log_nodes (level, idx, hash) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bytea[])',
          [
            batch.nodeHashes.map((node) => node.level),
            batch.nodeHashes.map((node) => node.index),
            batch.nodeHashes.map((node) => Buffer.from(node.hash)),
          ],
        );
      }
      // Same transaction: these commit with the entries or roll back with them.
      for (const group of batch.withinCommit ?? []) await this.#apply(tx, group);
    });
  }

  async readEntries(start: number, end: number): Promise<Uint8Array[]> {
    checkRange(start, end);
    const rows = await this.#db.query<{ idx: number; entry: Buffer }>(
      'SELECT idx, entry FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx',
      [start, end],
    );
    dense(rows, start, end);
    return rows.map((row) => bytes(row.entry));
  }

  async readLeafHashes(start: number, end: number): Promise<Uint8Array[]> {
    checkRange(start, end);
    const rows = await this.#db.query<{ idx: number; leaf_hash: Buffer }>(
      'SELECT idx, leaf_hash FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx',
      [start, end],
    );
    dense(rows, start, end);
    return rows.map((row) => bytes(row.leaf_hash));
  }

  async readNodeHashes(level: number, start: number, end: number): Promise<Uint8Array[]> {
    checkRange(start, end);
    const rows = await this.#db.query<{ idx: number; hash: Buffer }>(
      'SELECT idx, hash FROM log_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx',
      [level, start, end],
    );
    dense(rows, start, end);
    return rows.map((row) => bytes(row.hash));
  }

  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const epoch = (await this.#fence?.check(tx)) ?? null;
      await tx.execute(
        'INSERT INTO log_checkpoints (size, root_hash, note, created_at, signed_epoch) VALUES ($1, $2, $3, $4, $5)',
        [checkpoint.size, Buffer.from(checkpoint.rootHash), checkpoint.note, checkpoint.time, epoch],
      );
    });
  }

  async saveCosignedCheckpoint(size: number, cosignedNote: string): Promise<void> {
    const changed = await this.#db.transaction(async (tx) => {
      await this.#fence?.check(tx);
      return tx.execute('UPDATE log_checkpoints SET cosigned_note = $1 WHERE size = $2', [
        cosignedNote,
        size,
      ]);
    });
    if (changed !== 1) {
      throw new CareLedgerError('ERR_STORAGE', 'no checkpoint of this size', {
        details: { reason: 'missing' },
      });
    }
  }

  async #checkpoint(sql: string): Promise<StoredCheckpoint | undefined> {
    const [row] = await this.#db.query<CheckpointRow>(sql);
    return row === undefined ? undefined : checkpointFromRow(row);
  }

  latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#checkpoint('SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT 1');
  }

  latestCosignedCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#checkpoint(
      'SELECT * FROM log_checkpoints WHERE cosigned_note IS NOT NULL ORDER BY size DESC LIMIT 1',
    );
  }

  async listCheckpoints(options: { limit?: number } = {}): Promise<StoredCheckpoint[]> {
    const rows = await this.#db.query<CheckpointRow>(
      'SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT $1',
      [options.limit ?? null],
    );
    return rows.map(checkpointFromRow);
  }

  async loadWitnessState(origin: string): Promise<WitnessLogState | undefined> {
    const [row] = await this.#db.query<WitnessRow>('SELECT * FROM log_witness_state WHERE origin = $1', [
      origin,
    ]);
    return row === undefined ? undefined : witnessFromRow(row);
  }

  async saveWitnessState(state: WitnessLogState, expectedSize: number): Promise<boolean> {
    const values = [state.origin, state.size, Buffer.from(state.rootHash), state.checkpoint, state.time];
    if (expectedSize === 0) {
      // Compare-and-set on a new origin: the primary key decides which of two racing requests wins.
      const inserted = await this.#db.execute(
        `INSERT INTO log_witness_state (origin, size, root_hash, checkpoint, updated_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (origin) DO NOTHING`,
        values,
      );
      return inserted === 1;
    }
    const changed = await this.#db.execute(
      `UPDATE log_witness_state SET size = $2, root_hash = $3, checkpoint = $4, updated_at = $5
       WHERE origin = $1 AND size = $6`,
      [...values, expectedSize],
    );
    return changed === 1;
  }

  async listWitnessStates(): Promise<WitnessLogState[]> {
    const rows = await this.#db.query<WitnessRow>('SELECT * FROM log_witness_state ORDER BY origin');
    return rows.map(witnessFromRow);
  }

  async close(): Promise<void> {
    if (this.#ownsDb) await this.#db.close();
  }
}
