import { CareLedgerError } from '../../errors/index.js';
import {
  type ApplyCommitGroup,
  checkAppendBatch,
  type LogAppendBatch,
  type LogStorage,
  refuseCommitWrites,
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
import type { Migration, SqliteDatabase } from './open-database.js';

/**
 * Tables of the transparency log. Leaves and node hashes are append-only: triggers refuse UPDATE and
 * DELETE, so only someone bypassing the application (editing the file) can change history, and the
 * start-up audit of TransparencyLog.open catches that.
 */
export const logMigrations: Migration[] = [
  {
    id: 'log-0001-tables',
    sql: `
      CREATE TABLE log_leaves (
        idx INTEGER PRIMARY KEY,
        leaf_hash BLOB NOT NULL CHECK (length(leaf_hash) = 32),
        entry BLOB NOT NULL
      );
      CREATE TABLE log_nodes (
        level INTEGER NOT NULL CHECK (level >= 8 AND level % 8 = 0),
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL CHECK (length(hash) = 32),
        PRIMARY KEY (level, idx)
      ) WITHOUT ROWID;
      CREATE TABLE log_checkpoints (
        size INTEGER PRIMARY KEY,
        root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
        note TEXT NOT NULL,
        cosigned_note TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE log_witness_state (
        origin TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),
        checkpoint TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TRIGGER log_leaves_no_update BEFORE UPDATE ON log_leaves
        BEGIN SELECT RAISE(ABORT, 'log_leaves is append-only'); END;
      CREATE TRIGGER log_leaves_no_delete BEFORE DELETE ON log_leaves
        BEGIN SELECT RAISE(ABORT, 'log_leaves is append-only'); END;
      CREATE TRIGGER log_nodes_no_update BEFORE UPDATE ON log_nodes
        BEGIN SELECT RAISE(ABORT, 'log_nodes is append-only'); END;
      CREATE TRIGGER log_nodes_no_delete BEFORE DELETE ON log_nodes
        BEGIN SELECT RAISE(ABORT, 'log_nodes is append-only'); END;
    `,
  },
];

/**
 * LogStorage over better-sqlite3 (synchronous; the async interface is for the PostgreSQL adapter).
 * The database must have been opened with `logMigrations` (openDatabase sets WAL + synchronous=FULL, so
 * one batch = one transaction = one fsync of the WAL).
 */
export class SqliteLogStorage implements LogStorage {
  readonly #db: SqliteDatabase;
  readonly #ownsDb: boolean;
  readonly #stmt;
  readonly #applyCommitGroup: ApplyCommitGroup;
  /** Made once: better-sqlite3 builds four wrapped functions on every `transaction()` call. */
  readonly #appendTransaction;

  /**
   * `applyCommitGroup` applies a batch's commit writes on this same connection, inside the batch's
   * transaction (the vault's: createSqliteCommitApplier); without it, a batch with any is refused.
   */
  constructor(
    db: SqliteDatabase,
    options: { closeDatabase?: boolean; applyCommitGroup?: ApplyCommitGroup } = {},
  ) {
    this.#db = db;
    this.#ownsDb = options.closeDatabase ?? false;
    this.#applyCommitGroup = options.applyCommitGroup ?? refuseCommitWrites;
    this.#stmt = {
      size: db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_leaves'),
      nodeCount: db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) AS n FROM log_nodes WHERE level = ?'),
      insertLeaf: db.prepare('INSERT INTO log_leaves (idx, leaf_hash, entry) VALUES (?, ?, ?)'),
      insertNode: db.prepare('INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)'),
      entries: db.prepare('SELECT idx, entry FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx'),
      leafHashes: db.prepare('SELECT idx, leaf_hash FROM log_leaves WHERE idx >= ? AND idx < ? ORDER BY idx'),
      nodeHashes: db.prepare(
        'SELECT idx, hash FROM log_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx',
      ),
      insertCheckpoint: db.prepare(
        'INSERT INTO log_checkpoints (size, root_hash, note, created_at) VALUES (?, ?, ?, ?)',
      ),
      cosign: db.prepare('UPDATE log_checkpoints SET cosigned_note = ? WHERE size = ?'),
      latest: db.prepare('SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT 1'),
      latestCosigned: db.prepare(
        'SELECT * FROM log_checkpoints WHERE cosigned_note IS NOT NULL ORDER BY size DESC LIMIT 1',
      ),
      list: db.prepare('SELECT * FROM log_checkpoints ORDER BY size DESC LIMIT ?'),
      witness: db.prepare('SELECT * FROM log_witness_state WHERE origin = ?'),
      witnessAll: db.prepare('SELECT * FROM log_witness_state ORDER BY origin'),
      witnessInsert: db.prepare(
        'INSERT INTO log_witness_state (origin, size, root_hash, checkpoint, updated_at) VALUES (?, ?, ?, ?, ?)',
      ),
      witnessUpdate: db.prepare(
        `UPDATE log_witness_state SET size = ?, root_hash = ?, checkpoint = ?, updated_at = ?
         WHERE origin = ? AND size = ?`,
      ),
    };
    this.#appendTransaction = db.transaction((batch: LogAppendBatch) => {
      checkAppendBatch(batch, this.#count(this.#stmt.size), (level) =>
        this.#count(this.#stmt.nodeCount, level),
      );
      batch.entries.forEach((entry, i) => {
        this.#stmt.insertLeaf.run(batch.startIndex + i, batch.leafHashes[i], entry);
      });
      for (const node of batch.nodeHashes) this.#stmt.insertNode.run(node.level, node.index, node.hash);
      // Same connection, same transaction: these commit with the entries or roll back with them.
      for (const group of batch.withinCommit ?? []) this.#applyCommitGroup(group);
    });
  }

  #run<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (cause) {
      if (cause instanceof CareLedgerError) return Promise.reject(cause);
      return Promise.reject(
        new CareLedgerError('ERR_STORAGE', `log storage failed to ${what}`, {
          cause,
          details: { reason: 'sqlite' },
        }),
      );
    }
  }

  #count(stmt: { get(...args: unknown[]): unknown }, ...args: unknown[]): number {
    return (stmt.get(...args) as { n: number }).n;
  }

  size(): Promise<number> {
    return this.#run('read the size', () => this.#count(this.#stmt.size));
  }

  // BEGIN IMMEDIATE: other processes of the member write the same file (decision 0014); a deferred
  // transaction that reads first would fail with SQLITE_BUSY on upgrading instead of waiting its turn.
  appendBatch(batch: LogAppendBatch): Promise<void> {
    return this.#run('append a batch', () => this.#appendTransaction.immediate(batch));
  }

  #dense(rows: { idx: number }[], start: number, end: number): void {
    if (rows.length !== end - start || rows.some((row, i) => row.idx !== start + i)) {
      throw new CareLedgerError('ERR_STORAGE', 'log rows are missing', { details: { reason: 'missing' } });
    }
  }

  readEntries(start: number, end: number): Promise<Uint8Array[]> {
    return this.#run('read entries', () => {
      checkRange(start, end);
      const rows = this.#stmt.entries.all(start, end) as { idx: number; entry: Buffer }[];
      this.#dense(rows, start, end);
      return rows.map((row) => bytes(row.entry));
    });
  }

  readLeafHashes(start: number, end: number): Promise<Uint8Array[]> {
    return this.#run('read leaf hashes', () => {
      checkRange(start, end);
      const rows = this.#stmt.leafHashes.all(start, end) as { idx: number; leaf_hash: Buffer }[];
      this.#dense(rows, start, end);
      return rows.map((row) => bytes(row.leaf_hash));
    });
  }

  readNodeHashes(level: number, start: number, end: number): Promise<Uint8Array[]> {
    return this.#run('read node hashes', () => {
      checkRange(start, end);
      const rows = this.#stmt.nodeHashes.all(level, start, end) as { idx: number; hash: Buffer }[];
      this.#dense(rows, start, end);
      return rows.map((row) => bytes(row.hash));
    });
  }

  saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    return this.#run('save a checkpoint', () => {
      this.#stmt.insertCheckpoint.run(checkpoint.size, checkpoint.rootHash, checkpoint.note, checkpoint.time);
    });
  }

  saveCosignedCheckpoint(size: number, cosignedNote: string): Promise<void> {
    return this.#run('save a cosigned checkpoint', () => {
      if (this.#stmt.cosign.run(cosignedNote, size).changes !== 1) {
        throw new CareLedgerError('ERR_STORAGE', 'no checkpoint of this size', {
          details: { reason: 'missing' },
        });
      }
    });
  }

  latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#run('read the latest checkpoint', () => {
      const row = this.#stmt.latest.get() as CheckpointRow | undefined;
      return row === undefined ? undefined : checkpointFromRow(row);
    });
  }

  latestCosignedCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#run('read the latest cosigned checkpoint', () => {
      const row = this.#stmt.latestCosigned.get() as CheckpointRow | undefined;
      return row === undefined ? undefined : checkpointFromRow(row);
    });
  }

  listCheckpoints(options: { limit?: number } = {}): Promise<StoredCheckpoint[]> {
    return this.#run('list checkpoints', () =>
      (this.#stmt.list.all(options.limit ?? -1) as CheckpointRow[]).map(checkpointFromRow),
    );
  }

  loadWitnessState(origin: string): Promise<WitnessLogState | undefined> {
    return this.#run('read witness state', () => {
      const row = this.#stmt.witness.get(origin) as WitnessRow | undefined;
      return row === undefined ? undefined : witnessFromRow(row);
    });
  }

  saveWitnessState(state: WitnessLogState, expectedSize: number): Promise<boolean> {
    return this.#run('save witness state', () =>
      this.#db
        .transaction(() => {
          const current = this.#stmt.witness.get(state.origin) as WitnessRow | undefined;
          if (current === undefined) {
            if (expectedSize !== 0) return false;
            this.#stmt.witnessInsert.run(
              state.origin,
              state.size,
              state.rootHash,
              state.checkpoint,
              state.time,
            );
            return true;
          }
          const { changes } = this.#stmt.witnessUpdate.run(
            state.size,
            state.rootHash,
            state.checkpoint,
            state.time,
            state.origin,
            expectedSize,
          );
          return changes === 1;
        })
        .immediate(),
    );
  }

  listWitnessStates(): Promise<WitnessLogState[]> {
    return this.#run('list witness states', () =>
      (this.#stmt.witnessAll.all() as WitnessRow[]).map(witnessFromRow),
    );
  }

  close(): Promise<void> {
    return this.#run('close', () => {
      if (this.#ownsDb && this.#db.open) this.#db.close();
    });
  }
}
