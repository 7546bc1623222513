/**
 * A manufacturer, a wholesaler and a pharmacy as three in-process member nodes on one real embedded
 * chain, sharing one supply key (decision 0023), with the development identity header on: the
 * trading partners of the supply chain tests.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChainClient, EmbeddedChain } from '../../src/chain/index.js';
import type { MemberRole } from '../../src/ledger/codes.js';
import { deployContracts, Outbox, saveDeployment } from '../../src/ledger/index.js';
import { nodePaths, saveNodeConfig } from '../../src/node/node-config.js';
import { loadOrCreateLedgerKey, loadOrCreateLogSignerKey } from '../../src/node/node-keys.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { SUPPLY_KEY_FILE } from '../../src/supply/index.js';
import { findFreePort } from './free-port.js';
import { startTestPostgres } from './test-postgres.js';

export interface SupplyConsortium {
  readonly chain: EmbeddedChain;
  readonly manufacturer: RunningNode;
  readonly wholesaler: RunningNode;
  readonly pharmacy: RunningNode;
  /** The supply key every member holds. */
  readonly supplyKey: Uint8Array;
  /** Each member's node folder (its admin token is there). */
  readonly dirs: { readonly manufacturer: string; readonly wholesaler: string; readonly pharmacy: string };
  /** Another process of a member, on its folder and database, as its second host would run it. */
  startProcess(member: 'manufacturer' | 'wholesaler' | 'pharmacy'): Promise<RunningNode>;
  stop(): Promise<void>;
}

const MEMBERS: readonly { name: string; organization: string; role: MemberRole }[] = [
  { name: 'maker', organization: 'Acme Pharma', role: 'manufacturer' },
  { name: 'wholesaler', organization: 'Northern Wholesale', role: 'distributor' },
  { name: 'pharmacy', organization: 'Corner Pharmacy', role: 'pharmacy' },
];

export async function startSupplyConsortium(): Promise<SupplyConsortium> {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-supply-'));
  const chain = new EmbeddedChain({
    dir: join(dir, 'chain'),
    port: await findFreePort(),
    restartOnCrash: false,
  });
  await chain.start();
  // A suite re-run on PostgreSQL (test/storage/*-on-postgres.int.test.ts): one throw-away cluster,
  // one database per member.
  const postgres = process.env.CARELEDGER_TEST_POSTGRES === '1' ? await startTestPostgres() : undefined;
  const supplyKey = randomBytes(32);
  const folders = MEMBERS.map((member) => {
    const nodeDir = join(dir, member.name);
    const paths = nodePaths(nodeDir);
    const logOrigin = `${member.name}.careledger.test/log`;
    return {
      ...member,
      nodeDir,
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
      members: folders.map((f) => ({
        account: f.account.address,
        name: f.organization,
        role: f.role,
        fhirBaseUrl: 'http://127.0.0.1:1/fhir',
        logOrigin: f.logOrigin,
        logVerifierKey: f.verifierKey,
        encryptionPublicKey: '0x',
      })),
      threshold: 1,
    },
    31337,
  );
  await deployer.stop();
  deployerDb.close();
  saveDeployment(join(dir, 'deployment.json'), deployment);
  const nodes: RunningNode[] = [];
  const extra: RunningNode[] = [];
  const databaseUrls: (string | undefined)[] = [];
  for (const f of folders) {
    writeFileSync(join(f.nodeDir, SUPPLY_KEY_FILE), `${supplyKey.toString('hex')}\n`, { mode: 0o600 });
    saveNodeConfig(f.nodeDir, {
      name: f.name,
      organization: f.organization,
      role: f.role,
      host: '127.0.0.1',
      port: 0,
      publicUrl: 'http://127.0.0.1:1',
      logOrigin: f.logOrigin,
      chain: { rpcUrl: chain.rpcUrl, chainId: 31337 },
      deploymentFile: join(dir, 'deployment.json'),
      log: { anchorIntervalMs: 60_000 },
      devIdentityHeader: true,
    });
    const databaseUrl = await postgres?.createDatabase(`supply_${f.name}`);
    databaseUrls.push(databaseUrl);
    nodes.push(
      await startNode(f.nodeDir, {
        log: () => undefined,
        port: 0,
        ...(databaseUrl === undefined ? {} : { databaseUrl }),
      }),
    );
  }
  const [manufacturer, wholesaler, pharmacy] = nodes as [RunningNode, RunningNode, RunningNode];
  return {
    chain,
    manufacturer,
    wholesaler,
    pharmacy,
    supplyKey,
    dirs: {
      manufacturer: folders[0]?.nodeDir as string,
      wholesaler: folders[1]?.nodeDir as string,
      pharmacy: folders[2]?.nodeDir as string,
    },
    async startProcess(member) {
      const at = ['manufacturer', 'wholesaler', 'pharmacy'].indexOf(member);
      const databaseUrl = databaseUrls[at];
      const node = await startNode((folders[at] as (typeof folders)[number]).nodeDir, {
        log: () => undefined,
        port: 0,
        ...(databaseUrl === undefined ? {} : { databaseUrl }),
      });
      extra.push(node);
      return node;
    },
    async stop() {
      for (const node of extra) await node.close();
      for (const node of nodes) await node.close();
      await chain.stop();
      await postgres?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
