/**
 * The chain and contracts under every in-process test consortium: a member's ledger and log signer
 * keys in its node folder (as `node init` leaves them), a real embedded chain on a free port, and the
 * contracts deployed through a deployer's own outbox with the given genesis members. The set-ups in
 * test/support/start-*.ts, test/research and test/credentials start their nodes on top of it.
 */
import { join } from 'node:path';
import type { PrivateKeyAccount } from 'viem/accounts';
import { createChainClient, EmbeddedChain } from '../../src/chain/index.js';
import {
  type Deployment,
  deployContracts,
  type GenesisMember,
  Outbox,
  saveDeployment,
} from '../../src/ledger/index.js';
import { type NodeConfig, nodePaths } from '../../src/node/node-config.js';
import { loadOrCreateLedgerKey, loadOrCreateLogSignerKey } from '../../src/node/node-keys.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { findFreePort } from './free-port.js';

/** The embedded chain's id (anvil's default). */
export const TEST_CHAIN_ID = 31337;

export interface TestMemberKeys {
  /** The member's ledger key (its account on the chain). */
  readonly account: PrivateKeyAccount;
  readonly logOrigin: string;
  /** The public key that verifies the member's log checkpoints, as the registry publishes it. */
  readonly logVerifierKey: string;
}

/** Creates a member's ledger and log signer keys in its node folder; the log origin names its log. */
export function createTestMemberKeys(nodeDir: string, logOrigin: string): TestMemberKeys {
  const paths = nodePaths(nodeDir);
  return {
    account: loadOrCreateLedgerKey(paths.ledgerKey),
    logOrigin,
    logVerifierKey: loadOrCreateLogSignerKey(paths.logSignerKey, logOrigin).verifierKey,
  };
}

/** A genesis member; no encryption key unless given (`0x`), as in every test consortium. */
export type TestGenesisMember = Omit<GenesisMember, 'encryptionPublicKey'> &
  Partial<Pick<GenesisMember, 'encryptionPublicKey'>>;

/** The genesis entry of the member holding `keys`. */
export function testGenesisMember(
  keys: TestMemberKeys,
  member: Pick<GenesisMember, 'name' | 'role' | 'fhirBaseUrl'>,
): TestGenesisMember {
  return {
    ...member,
    account: keys.account.address,
    logOrigin: keys.logOrigin,
    logVerifierKey: keys.logVerifierKey,
  };
}

export interface TestConsortium {
  readonly chain: EmbeddedChain;
  readonly deployment: Deployment;
  /** deployment.json in the consortium's folder. */
  readonly deploymentFile: string;
  /** What every member's node config says of this chain and deployment (development identity header on). */
  readonly nodeConfig: Pick<NodeConfig, 'host' | 'chain' | 'deploymentFile' | 'devIdentityHeader'>;
}

/**
 * Starts an embedded chain in `dir`/chain (on `chainPort`, or a free port) and deploys the contracts
 * with `members` as genesis members; the record is saved as `dir`/deployment.json. The chain is
 * stopped again if the deployment fails.
 */
export async function deployTestConsortium(
  dir: string,
  genesis: { readonly members: readonly TestGenesisMember[]; readonly threshold: number },
  options: { readonly chainPort?: number } = {},
): Promise<TestConsortium> {
  const chain = new EmbeddedChain({
    dir: join(dir, 'chain'),
    port: options.chainPort ?? (await findFreePort()),
    restartOnCrash: false,
  });
  await chain.start();
  try {
    const deployerDb = openDatabase(join(dir, 'deployer.db'), outboxMigrations);
    const deployer = new Outbox({
      storage: new SqliteOutboxStorage(deployerDb),
      account: loadOrCreateLedgerKey(join(dir, 'deployer.key')),
      client: createChainClient(chain.rpcUrl, TEST_CHAIN_ID),
      chainId: TEST_CHAIN_ID,
    });
    deployer.start(100);
    let deployment: Deployment;
    try {
      deployment = await deployContracts(
        deployer,
        {
          members: genesis.members.map((m) => ({ ...m, encryptionPublicKey: m.encryptionPublicKey ?? '0x' })),
          threshold: genesis.threshold,
        },
        TEST_CHAIN_ID,
      );
    } finally {
      await deployer.stop();
      deployerDb.close();
    }
    const deploymentFile = join(dir, 'deployment.json');
    saveDeployment(deploymentFile, deployment);
    return {
      chain,
      deployment,
      deploymentFile,
      nodeConfig: {
        host: '127.0.0.1',
        chain: { rpcUrl: chain.rpcUrl, chainId: TEST_CHAIN_ID },
        deploymentFile,
        devIdentityHeader: true,
      },
    };
  } catch (error) {
    await chain.stop();
    throw error;
  }
}
