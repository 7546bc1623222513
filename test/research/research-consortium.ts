/**
 * Three member nodes on one real embedded chain, each on a port of 127.0.0.1 with its public URL
 * there (members call each other over real HTTP): a hospital and a lab holding data, sharing one
 * research pseudonym secret, and a university research group. k-rounds and release rounds
 * (decision 0041) run between them as in a deployment.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PrivateKeyAccount } from 'viem/accounts';
import { createChainClient, EmbeddedChain } from '../../src/chain/index.js';
import type { MemberRole } from '../../src/ledger/codes.js';
import { type Deployment, deployContracts, Outbox, saveDeployment } from '../../src/ledger/index.js';
import { nodePaths, saveNodeConfig } from '../../src/node/node-config.js';
import { loadOrCreateLedgerKey, loadOrCreateLogSignerKey } from '../../src/node/node-keys.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { findFreePorts } from '../support/free-port.js';

export interface ResearchMember {
  readonly name: string;
  readonly organization: string;
  readonly url: string;
  readonly dir: string;
  readonly node: RunningNode;
  readonly account: PrivateKeyAccount;
  readonly adminToken: string;
}

export interface ResearchConsortium {
  readonly dir: string;
  readonly chain: EmbeddedChain;
  readonly deployment: Deployment;
  readonly hospital: ResearchMember;
  readonly lab: ResearchMember;
  readonly research: ResearchMember;
  /** Every node's chain and research index brought up to the chain's head. */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

const MEMBERS: readonly { name: string; organization: string; role: MemberRole }[] = [
  { name: 'hospital', organization: 'Riverside General Hospital', role: 'provider' },
  { name: 'lab', organization: 'Northside Clinical Laboratory', role: 'lab' },
  { name: 'research', organization: 'Lakeside University Research Group', role: 'research' },
];

export async function startResearchConsortium(
  log: (line: string) => void = () => undefined,
): Promise<ResearchConsortium> {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-research-net-'));
  const [chainPort, ...ports] = await findFreePorts(1 + MEMBERS.length);
  const chain = new EmbeddedChain({
    dir: join(dir, 'chain'),
    port: chainPort as number,
    restartOnCrash: false,
  });
  await chain.start();
  const prepared = MEMBERS.map((m, i) => {
    const nodeDir = join(dir, m.name);
    const logOrigin = `${m.name}.careledger.test/log`;
    const paths = nodePaths(nodeDir);
    return {
      ...m,
      nodeDir,
      port: ports[i] as number,
      url: `http://127.0.0.1:${ports[i]}`,
      logOrigin,
      account: loadOrCreateLedgerKey(paths.ledgerKey),
      verifierKey: loadOrCreateLogSignerKey(paths.logSignerKey, logOrigin).verifierKey,
    };
  });
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
      members: prepared.map((p) => ({
        account: p.account.address,
        name: p.organization,
        role: p.role,
        fhirBaseUrl: `${p.url}/fhir`,
        logOrigin: p.logOrigin,
        logVerifierKey: p.verifierKey,
        encryptionPublicKey: '0x' as const,
      })),
      threshold: 2,
    },
    31337,
  );
  await deployer.stop();
  deployerDb.close();
  saveDeployment(join(dir, 'deployment.json'), deployment);
  // The members holding data share the consortium's research pseudonym secret; the research group does not.
  const secret = `${'5a'.repeat(32)}\n`;
  const members: ResearchMember[] = [];
  for (const p of prepared) {
    saveNodeConfig(p.nodeDir, {
      name: p.name,
      organization: p.organization,
      role: p.role,
      host: '127.0.0.1',
      port: p.port,
      publicUrl: p.url,
      logOrigin: p.logOrigin,
      chain: { rpcUrl: chain.rpcUrl, chainId: 31337 },
      deploymentFile: join(dir, 'deployment.json'),
      log: { anchorIntervalMs: 500 },
      devIdentityHeader: true,
    });
    if (p.role !== 'research')
      writeFileSync(join(p.nodeDir, 'research-pseudonym.secret'), secret, { mode: 0o600 });
    const node = await startNode(p.nodeDir, { log: (line) => log(`${p.name}: ${line}`), port: p.port });
    const adminToken = readFileSync(nodePaths(p.nodeDir).adminToken, 'utf8').trim();
    members.push({
      name: p.name,
      organization: p.organization,
      url: p.url,
      dir: p.nodeDir,
      node,
      account: p.account,
      adminToken,
    });
  }
  const [hospital, lab, research] = members as [ResearchMember, ResearchMember, ResearchMember];
  return {
    dir,
    chain,
    deployment,
    hospital,
    lab,
    research,
    async sync() {
      for (const m of members) {
        await m.node.indexer.sync();
        await m.node.research?.index.sync();
      }
    },
    async stop() {
      for (const m of members) await m.node.close();
      await chain.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
