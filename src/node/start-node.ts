import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { AccessPolicy } from '../access/index.js';
import { createChainClient } from '../chain/index.js';
import { evaluateConsent } from '../consent/index.js';
import { createAuthenticator } from '../http/authenticate-request.js';
import { createNodeApp } from '../http/create-node-app.js';
import { createOpenApiRoute } from '../http/openapi.js';
import { createAdminRoutes } from '../http/routes/admin-routes.js';
import { createBreakGlassRoutes } from '../http/routes/break-glass-routes.js';
import { createFhirRoutes } from '../http/routes/fhir-routes.js';
import { createLedgerRoutes } from '../http/routes/ledger-routes.js';
import { ConsortiumLedger, type Deployment, loadDeployment, Outbox } from '../ledger/index.js';
import { openDatabase, type SqliteDatabase } from '../storage/sqlite/open-database.js';
import { breakGlassMigrations, SqliteBreakGlassStore } from '../storage/sqlite/sqlite-break-glass-store.js';
import {
  chainIndexMigrations,
  SqliteChainIndexStorage,
} from '../storage/sqlite/sqlite-chain-index-storage.js';
import { keyStoreMigrations } from '../storage/sqlite/sqlite-key-store.js';
import { logMigrations } from '../storage/sqlite/sqlite-log-storage.js';
import { outboxMigrations, SqliteOutboxStorage } from '../storage/sqlite/sqlite-outbox-storage.js';
import { recordMigrations, SqliteRecordStorage } from '../storage/sqlite/sqlite-record-storage.js';
import { ChainIndexer } from '../sync/index.js';
import { FhirRepository } from '../vault/fhir-repository.js';
import { type LogServices, startLogServices } from './log-services.js';
import { loadNodeConfig, type NodeConfig, nodePaths } from './node-config.js';
import { loadOrCreateAdminToken, loadOrCreateLedgerKey, loadOrCreateLogSignerKey } from './node-keys.js';
import { openVault } from './open-vault.js';

export interface RunningNode {
  readonly config: NodeConfig;
  readonly url: string;
  readonly deployment: Deployment;
  readonly ledger: ConsortiumLedger;
  readonly indexer: ChainIndexer;
  readonly app: ReturnType<typeof createNodeApp>;
  close(): Promise<void>;
}

export interface StartNodeOptions {
  readonly log?: (line: string) => void;
  /** Listen on this port instead of the configured one (0 = any free port). */
  readonly port?: number;
}

/** The composition root of one member node: storage, keys, ledger, chain sync and HTTP. */
export async function startNode(dir: string, options: StartNodeOptions = {}): Promise<RunningNode> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const config = loadNodeConfig(dir);
  const paths = nodePaths(dir);
  const deployment = loadDeployment(config.deploymentFile);
  const account = loadOrCreateLedgerKey(paths.ledgerKey);
  const logKey = loadOrCreateLogSignerKey(paths.logSignerKey, config.logOrigin);
  const adminToken = loadOrCreateAdminToken(paths.adminToken);
  const db: SqliteDatabase = openDatabase(paths.database, [
    ...outboxMigrations,
    ...chainIndexMigrations,
    ...logMigrations,
    ...keyStoreMigrations,
    ...recordMigrations,
    ...breakGlassMigrations,
  ]);
  const client = createChainClient(config.chain.rpcUrl, config.chain.chainId);
  const now = () => Date.now();

  const outbox = new Outbox({
    storage: new SqliteOutboxStorage(db),
    account,
    client,
    chainId: config.chain.chainId,
    onLog: (line) => log(`[${config.name}] ${line}`),
  });
  const ledger = new ConsortiumLedger(deployment, outbox);
  const index = new SqliteChainIndexStorage(db);
  const indexer = new ChainIndexer({
    client,
    storage: index,
    deployment,
    onLog: (line) => log(`[${config.name}] ${line}`),
  });

  await indexer.sync();
  const logServices: LogServices = await startLogServices({
    db,
    origin: config.logOrigin,
    signerKey: logKey.signerKey,
    self: account.address,
    ledger,
    index,
    log: (line) => log(`[${config.name}] ${line}`),
    ...(config.log?.witnessQuorum === undefined ? {} : { witnessQuorum: config.log.witnessQuorum }),
    ...(config.log?.anchorIntervalMs === undefined ? {} : { anchorIntervalMs: config.log.anchorIntervalMs }),
  });

  const breakGlass = new SqliteBreakGlassStore(db);
  const repository = new FhirRepository({
    storage: new SqliteRecordStorage(db),
    crypto: await openVault(dir, db),
    log: logServices.log,
    observer: { display: config.organization, origin: config.logOrigin },
    breakGlass,
    policy: new AccessPolicy({
      consent: (query) => evaluateConsent(index, query),
      nodeAddress: account.address,
      breakGlass,
    }),
  });

  const authenticate = createAuthenticator({
    organization: config.organization,
    devIdentityHeader: config.devIdentityHeader === true,
  });
  const app = createNodeApp({
    onError: (error) => log(`[${config.name}] internal error: ${(error as Error).stack}`),
  });
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/status', async (c) =>
    c.json({
      name: config.name,
      organization: config.organization,
      role: config.role,
      address: account.address,
      publicUrl: config.publicUrl,
      logOrigin: config.logOrigin,
      chain: { rpcUrl: config.chain.rpcUrl, chainId: config.chain.chainId, contracts: deployment.contracts },
      sync: await indexer.status(),
      outbox: await outbox.counts(),
      log: await logServices.status(),
    }),
  );
  app.route(
    '/ledger',
    createLedgerRoutes({ ledger, index, indexer, now, audit: (entry) => logServices.log.append(entry) }),
  );
  app.route(
    '/fhir',
    createFhirRoutes({ repository, software: { name: 'CareLedger', version: '0.1.0' }, authenticate }),
  );
  app.route('/break-glass', createBreakGlassRoutes({ repository, authenticate }));
  app.route('/log', logServices.logRoutes);
  app.route('/witness', logServices.witnessRoutes);
  app.route(
    '/admin',
    createAdminRoutes({
      ledger,
      adminToken,
      client,
      erasePatient: (id) =>
        repository.erasePatient(id, {
          who: 'Device/node-operator',
          organization: config.organization,
          purpose: 'PATRQT',
        }),
    }),
  );
  app.route('/', createOpenApiRoute());

  outbox.start(250);
  indexer.start(250);
  void outbox.pump().catch(() => undefined);

  const server = serve({ fetch: app.fetch, hostname: config.host, port: options.port ?? config.port });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const url = `http://${config.host}:${address.port}`;
  log(`[${config.name}] listening on ${url} as ${account.address}`);

  return {
    config,
    url,
    deployment,
    ledger,
    indexer,
    app,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await logServices.stop();
      await outbox.stop();
      await indexer.stop();
      db.close();
    },
  };
}
