import type { Hono } from 'hono';
import type { ConsortiumLedger } from '../../ledger/index.js';
import { isPostgresUrl } from '../../storage/postgres/postgres-database.js';
import { type LogServices, type LogServicesOptions, startLogServices } from '../log-services.js';
import { startDatabaseSequencedLogServices } from '../workers/database-sequenced-log-services.js';
import type { NodeBase } from './node-base.js';
import type { StartNodeOptions } from './start-node-options.js';

/** The node's transparency log, its checkpoints, witnesses and anchoring (decisions 0014, 0022). */
export async function startNodeLogServices(
  base: NodeBase,
  options: StartNodeOptions,
  ledger: ConsortiumLedger,
): Promise<LogServices> {
  const { db, stores, config, logKey, account, databaseUrl, notifications, say } = base;
  const logOptions: LogServicesOptions = {
    db,
    storage: stores.log,
    ...(options.worker === undefined ? {} : { follower: options.worker.appender }),
    origin: config.logOrigin,
    signerKey: logKey.signerKey,
    self: account.address,
    ledger,
    index: stores.chainIndex,
    log: say,
    ...(config.log?.witnessQuorum === undefined ? {} : { witnessQuorum: config.log.witnessQuorum }),
    ...(config.log?.anchorIntervalMs === undefined ? {} : { anchorIntervalMs: config.log.anchorIntervalMs }),
  };
  // Decision 0022: on PostgreSQL every process of the member queues its log groups in the database and
  // the one holding the lease sequences them (SQLite keeps decision 0014's primary and IPC).
  return stores.kind === 'postgres' && options.worker === undefined && isPostgresUrl(databaseUrl)
    ? await startDatabaseSequencedLogServices(logOptions, {
        url: databaseUrl,
        bindAddress: config.host,
        ...(notifications === undefined ? {} : { notifications }),
        ...(options.sequencerLeaseMs === undefined ? {} : { leaseMs: options.sequencerLeaseMs }),
        currentVersion: async (resourceType, id) =>
          (await stores.records.current(resourceType, id))?.versionId ?? 0,
      })
    : await startLogServices(logOptions);
}

/** /log (tiles, checkpoints, proofs) and /witness (cosigning other members' checkpoints). */
export function mountLogRoutes(app: Hono, logServices: LogServices) {
  app.route('/log', logServices.logRoutes);
  app.route('/witness', logServices.witnessRoutes);
}
