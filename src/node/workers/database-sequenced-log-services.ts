import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { TransparencyLog } from '../../log/index.js';
import { applyVaultCommitGroupPostgres } from '../../storage/postgres/postgres-commit-applier.js';
import { openPostgresDatabase } from '../../storage/postgres/postgres-database.js';
import { PostgresLogStorage } from '../../storage/postgres/postgres-log-storage.js';
import {
  PENDING_CHANNEL,
  SETTLED_CHANNEL,
  withPendingSettlement,
} from '../../storage/postgres/postgres-pending-entries.js';
import { PostgresSequencerLease } from '../../storage/postgres/postgres-sequencer-lease.js';
import { type LogServices, type LogServicesOptions, startLogServices } from '../log-services.js';
import { DatabaseLogAppender } from './database-log-appender.js';
import { DatabaseSequencer } from './database-sequencer.js';
import { startFollowerLogServices } from './follower-log-services.js';
import { type MemberNotifications, openMemberNotifications } from './member-notifications.js';

/** The default lease of the elected sequencer: a dead leader is replaced within about this long. */
export const DEFAULT_SEQUENCER_LEASE_MS = 5_000;

export interface DatabaseSequencingOptions {
  /** The member's PostgreSQL database (postgres://...), shared by all its processes. */
  readonly url: string;
  /** How long the lease lasts unrenewed (default 5 s); renewed every third of it. */
  readonly leaseMs?: number;
  /** This process's name in the lease row (default host name/bind address/pid/random). */
  readonly holder?: string;
  /** The address this process's HTTP server binds (`node start --host`), so the operator sees which machine leads. */
  readonly bindAddress?: string;
  /** The stored current version of a resource (0 when none), for the version fence. */
  readonly currentVersion: (resourceType: string, id: string) => Promise<number>;
  /** This process's notifications connection, if its caller opened one (else the services open their own). */
  readonly notifications?: MemberNotifications;
}

/** Appends a server setting to a postgres:// URL (node-postgres reads `options` from the query). */
function withSessionSetting(url: string, setting: string): string {
  if (/[?&]options=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c ${setting}`)}`;
}

/**
 * The log services of one process of a member whose processes share a PostgreSQL database, on one
 * machine or several (decision 0022). Every process serves the log read from the database and appends
 * through the durable queue (DatabaseLogAppender); every process also stands for election, and the
 * one holding the lease runs the full sequencer services (checkpoints, witnesses, anchoring) over
 * storage fenced by its epoch, integrating everyone's queued groups.
 */
export async function startDatabaseSequencedLogServices(
  options: LogServicesOptions,
  sequencing: DatabaseSequencingOptions,
): Promise<LogServices> {
  const leaseMs = sequencing.leaseMs ?? DEFAULT_SEQUENCER_LEASE_MS;
  const holder =
    sequencing.holder ??
    [hostname(), sequencing.bindAddress, process.pid, randomUUID().slice(0, 8)]
      .filter((part) => part !== undefined)
      .join('/');
  // Its own connections: a leader paused inside a transaction must not hold the lease row forever, so
  // the server ends such a transaction after two leases (at least 5 s, longer than a busy event loop
  // stalls); its write then fails, and it was fenced anyway.
  const idleMs = Math.max(2 * leaseMs, 5_000);
  const db = openPostgresDatabase(
    withSessionSetting(sequencing.url, `idle_in_transaction_session_timeout=${idleMs}`),
    { maxConnections: 6 },
  );
  const lease = new PostgresSequencerLease(db, holder, leaseMs);
  const appender = new DatabaseLogAppender({ db });
  // The log of the current term while this process leads (tests and the primary-only callers use it).
  let leading: TransparencyLog | undefined;
  let audited = false;
  const sequencer = new DatabaseSequencer({
    lease,
    db,
    currentVersion: sequencing.currentVersion,
    log: options.log,
    openTerm: async (epoch) => {
      const storage = new PostgresLogStorage(db, {
        applyCommitGroup: withPendingSettlement(applyVaultCommitGroupPostgres),
        fence: lease.fence(epoch),
      });
      // The whole log is audited at this process's first term; a later takeover checks the signed root
      // against the stored subtree hashes only (O(log n)), so a failover does not read every entry.
      const services = await startLogServices({
        ...options,
        storage,
        follower: undefined,
        verify: audited ? 'fast' : 'full',
      });
      audited = true;
      const log = services.sequencer;
      if (log === undefined) throw new Error('the leader has no log to sequence');
      leading = log;
      return {
        log,
        stop: () => {
          if (leading === log) leading = undefined;
          return services.stop();
        },
      };
    },
  });
  const notifications = sequencing.notifications ?? openMemberNotifications(sequencing.url);
  const stopListening = [
    notifications.on(PENDING_CHANNEL, () => sequencer.wake()),
    notifications.on(SETTLED_CHANNEL, () => appender.notifySettled()),
  ];
  const reader = options.storage ?? new PostgresLogStorage(db);
  const served = await startFollowerLogServices(options, reader, appender);
  // A process that cannot reach the database now is a follower until a later tick succeeds.
  await sequencer
    .tick()
    .catch((error: unknown) => options.log(`sequencer: election failed: ${(error as Error).message}`));
  const electionTimer = setInterval(
    () => void sequencer.tick().catch(() => undefined),
    Math.ceil(leaseMs / 3),
  );
  electionTimer.unref();
  // Notifications can be lost with a connection; the leader also looks at the queue on its own.
  const pollTimer = setInterval(() => sequencer.wake(), 250);
  pollTimer.unref();
  return {
    ...served,
    get sequencer() {
      return leading;
    },
    async status() {
      return {
        ...(await served.status()),
        sequencer: { role: sequencer.role, epoch: sequencer.epoch ?? null, holder },
      };
    },
    async stop() {
      clearInterval(electionTimer);
      clearInterval(pollTimer);
      await served.stop();
      await appender.stop();
      await sequencer.stop();
      for (const stop of stopListening) stop();
      if (sequencing.notifications === undefined) await notifications.close();
      await db.close();
    },
  };
}
