/** What the node's log services are and take: shared by the sequencer (log-services.ts) and a worker's follower. */
import type { Hono } from 'hono';
import type { Address } from 'viem';
import type { LogRoutesSource } from '../http/routes/log-routes.js';
import type { ConsortiumLedger } from '../ledger/index.js';
import type { ApplyCommitGroup, TransparencyLog } from '../log/index.js';
import type { LogStorage } from '../log/log-storage.js';
import type { SqliteDatabase } from '../storage/sqlite/open-database.js';
import type { ChainIndexStorage } from '../sync/index.js';
import type { LogAppender } from './workers/follower-log.js';

export interface LogServicesOptions {
  readonly db: SqliteDatabase;
  /** The log's storage when not the SQLite database's (PostgreSQL: src/storage/open-node-storage.ts). */
  readonly storage?: LogStorage;
  /** Applies the writes that commit with log entries (the vault's rows), in the append's transaction. */
  readonly applyCommitGroup?: ApplyCommitGroup;
  /**
   * Set in a worker process: appends go to the member's one sequencer through this, and the log is
   * only read here (workers/follower-log-services.ts). Unset: this process is the sequencer.
   */
  readonly follower?: LogAppender;
  readonly origin: string;
  readonly signerKey: string;
  readonly self: Address;
  readonly ledger: ConsortiumLedger;
  readonly index: ChainIndexStorage;
  /** k of the k-of-n witness policy; default: a majority of the other active members (at least 1). */
  readonly witnessQuorum?: number;
  readonly checkpointIntervalMs?: number;
  /** The log's start-up audit (TransparencyLog.open `verify`; default 'full'). */
  readonly verify?: 'full' | 'fast';
  readonly anchorIntervalMs?: number;
  readonly log: (line: string) => void;
}

export interface LogServicesStatus {
  readonly origin: string;
  readonly size: number;
  readonly checkpointSize: number | null;
  readonly cosignedSize: number | null;
  readonly witnesses: { readonly total: number; readonly quorum: number };
  readonly anchoredSize: number | null;
  readonly lastAnchorError: string | null;
  /** `fenced: log size 79 is behind anchor 109` when the log refuses to append and sign, else null. */
  readonly fence: string | null;
  /** On PostgreSQL (decision 0022): whether this process holds the sequencer lease, and its epoch. */
  readonly sequencer?: {
    readonly role: 'leader' | 'follower';
    readonly epoch: number | null;
    readonly holder: string;
  };
}

/** The log as the rest of the node uses it: appends, and what the log routes read. */
export type ServedLog = LogRoutesSource &
  Pick<TransparencyLog, 'append' | 'appendAll' | 'size' | 'latestCosignedCheckpoint'>;

export interface LogServices {
  readonly log: ServedLog;
  /** The TransparencyLog this process sequences; undefined in a worker. */
  readonly sequencer?: TransparencyLog;
  readonly logRoutes: Hono;
  readonly witnessRoutes: Hono;
  status(): Promise<LogServicesStatus>;
  stop(): Promise<void>;
}
