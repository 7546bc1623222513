/**
 * One member node in-process on a real embedded chain, for integration tests: a fresh data folder,
 * anvil on a free port, the contracts deployed with this node as the only (genesis) member, and the
 * node started with the development identity header on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChainClient, EmbeddedChain } from '../../src/chain/index.js';
import { deployContracts, Outbox, saveDeployment } from '../../src/ledger/index.js';
import { type NodeConfig, nodePaths, saveNodeConfig } from '../../src/node/node-config.js';
import { loadOrCreateLedgerKey, loadOrCreateLogSignerKey } from '../../src/node/node-keys.js';
import { type RunningNode, type StartNodeOptions, startNode } from '../../src/node/start-node.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { findFreePort } from './free-port.js';
import { startTestPostgres } from './test-postgres.js';

export interface SoloNode {
  readonly dir: string;
  readonly chain: EmbeddedChain;
  readonly node: RunningNode;
  readonly logOrigin: string;
  readonly logVerifierKey: string;
  stop(): Promise<void>;
}

/** A solo node's folder, chain and deployment, ready for `node start` (in-process or not). */
export interface SoloNodeFolder {
  readonly dir: string;
  readonly nodeDir: string;
  readonly chain: EmbeddedChain;
  readonly logOrigin: string;
  readonly logVerifierKey: string;
}

export async function startSoloNode(
  overrides: Partial<NodeConfig> = {},
  options: {
    authClock?: () => number;
    log?: (line: string) => void;
    databaseUrl?: string;
    researchPorts?: StartNodeOptions['researchPorts'];
  } = {},
): Promise<SoloNode> {
  const { dir, nodeDir, chain, logOrigin, logVerifierKey: verifierKey } = await prepareSoloNode(overrides);
  // A suite re-run on PostgreSQL (test/storage/*-on-postgres.int.test.ts) gets its own throw-away cluster.
  const postgres =
    options.databaseUrl === undefined && process.env.CARELEDGER_TEST_POSTGRES === '1'
      ? await startTestPostgres()
      : undefined;
  // A node the test then runs as a process of its own (`careledger node start`) inherits it.
  if (postgres !== undefined) process.env.CARELEDGER_DATABASE_URL = postgres.url;
  const node = await startNode(nodeDir, {
    log: () => undefined,
    port: overrides.port ?? 0,
    ...options,
    ...(postgres === undefined ? {} : { databaseUrl: postgres.url }),
  });
  return {
    dir,
    chain,
    node,
    logOrigin,
    logVerifierKey: verifierKey,
    async stop() {
      await node.close();
      await chain.stop();
      await postgres?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function prepareSoloNode(overrides: Partial<NodeConfig> = {}): Promise<SoloNodeFolder> {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-solo-'));
  const logOrigin = 'solo.careledger.test/log';
  const chain = new EmbeddedChain({
    dir: join(dir, 'chain'),
    port: await findFreePort(),
    restartOnCrash: false,
  });
  await chain.start();
  const nodeDir = join(dir, 'solo');
  const paths = nodePaths(nodeDir);
  const account = loadOrCreateLedgerKey(paths.ledgerKey);
  const { verifierKey } = loadOrCreateLogSignerKey(paths.logSignerKey, logOrigin);
  const deployerDb = openDatabase(join(dir, 'deployer.db'), outboxMigrations);
  const deployer = new Outbox({
    storage: new SqliteOutboxStorage(deployerDb),
    account: loadOrCreateLedgerKey(join(dir, 'deployer.key')),
    client: createChainClient(chain.rpcUrl, 31337),
    chainId: 31337,
  });
  deployer.start(100);
  const deployment = await deployContracts(
    deployer,
    {
      members: [
        {
          account: account.address,
          name: 'Solo Clinic',
          role: 'provider',
          fhirBaseUrl: 'http://127.0.0.1:1/fhir',
          logOrigin,
          logVerifierKey: verifierKey,
          encryptionPublicKey: '0x',
        },
      ],
      threshold: 1,
    },
    31337,
  );
  await deployer.stop();
  deployerDb.close();
  saveDeployment(join(dir, 'deployment.json'), deployment);
  saveNodeConfig(nodeDir, {
    name: 'solo',
    organization: 'Solo Clinic',
    role: 'provider',
    host: '127.0.0.1',
    port: 0,
    publicUrl: 'http://127.0.0.1:1',
    logOrigin,
    chain: { rpcUrl: chain.rpcUrl, chainId: 31337 },
    deploymentFile: join(dir, 'deployment.json'),
    log: { anchorIntervalMs: 500 },
    devIdentityHeader: true,
    ...overrides,
  });
  return { dir, nodeDir, chain, logOrigin, logVerifierKey: verifierKey };
}
