/**
 * Two member nodes (a hospital and a lab) in-process on one real embedded chain, with a state medical
 * board as a third genesis member (no node: it signs its own transactions), k = 2, both nodes
 * requiring practitioner licences. Another member's requests go through `fetchBetween`, which routes
 * each node's public URL to its in-process app (real HTTP semantics, no port).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, type Hex, http } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { createChainClient, EmbeddedChain } from '../../src/chain/index.js';
import { type Deployment, deployContracts, Outbox, saveDeployment } from '../../src/ledger/index.js';
import { type NodeConfig, nodePaths, saveNodeConfig } from '../../src/node/node-config.js';
import { loadOrCreateLedgerKey, loadOrCreateLogSignerKey } from '../../src/node/node-keys.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { findFreePort } from '../support/free-port.js';

export interface TestMember {
  readonly name: string;
  readonly url: string;
  readonly node: RunningNode;
  readonly account: PrivateKeyAccount;
  readonly adminToken: string;
}

export interface TwoMembers {
  readonly chain: EmbeddedChain;
  readonly deployment: Deployment;
  readonly board: PrivateKeyAccount;
  readonly hospital: TestMember;
  readonly lab: TestMember;
  /** The board's own node, when asked for (its ledger key is `board`). */
  readonly boardNode?: TestMember;
  /** A fetch that serves each member's public URL from its in-process app. */
  readonly fetchBetween: typeof fetch;
  /** Sends a transaction signed by the board and waits for it; returns whether it succeeded. */
  boardSends(to: Hex, data: Hex): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startTwoMembers(
  overrides: Partial<NodeConfig> = {},
  options: { readonly boardNode?: boolean } = {},
): Promise<TwoMembers> {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-cred-'));
  const chain = new EmbeddedChain({
    dir: join(dir, 'chain'),
    port: await findFreePort(),
    restartOnCrash: false,
  });
  await chain.start();
  const names = ['hospital', 'lab', 'board'] as const;
  const prepared = names.map((name) => {
    const nodeDir = join(dir, name);
    const paths = nodePaths(nodeDir);
    const logOrigin = `${name}.careledger.test/log`;
    return {
      name,
      nodeDir,
      url: `http://${name}.careledger.test`,
      logOrigin,
      account: loadOrCreateLedgerKey(paths.ledgerKey),
      verifierKey: loadOrCreateLogSignerKey(paths.logSignerKey, logOrigin).verifierKey,
    };
  });
  const boardPrepared = prepared[2] as (typeof prepared)[number];
  const board = boardPrepared.account;
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
        ...prepared.slice(0, 2).map((p) => ({
          account: p.account.address,
          name: `${p.name} member`,
          role: p.name === 'hospital' ? ('provider' as const) : ('lab' as const),
          fhirBaseUrl: `${p.url}/fhir`,
          logOrigin: p.logOrigin,
          logVerifierKey: p.verifierKey,
          encryptionPublicKey: '0x' as const,
        })),
        {
          account: board.address,
          name: 'State Medical Board',
          role: 'licensing-board' as const,
          fhirBaseUrl: `${boardPrepared.url}/fhir`,
          logOrigin: boardPrepared.logOrigin,
          logVerifierKey: boardPrepared.verifierKey,
          encryptionPublicKey: '0x' as const,
        },
      ],
      threshold: 2,
    },
    31337,
  );
  await deployer.stop();
  deployerDb.close();
  saveDeployment(join(dir, 'deployment.json'), deployment);
  const members: TestMember[] = [];
  for (const p of options.boardNode === true ? prepared : prepared.slice(0, 2)) {
    saveNodeConfig(p.nodeDir, {
      name: p.name,
      organization: p.name === 'board' ? 'State Medical Board' : `${p.name} member`,
      role: p.name === 'hospital' ? 'provider' : p.name === 'lab' ? 'lab' : 'licensing-board',
      host: '127.0.0.1',
      port: 0,
      publicUrl: p.url,
      logOrigin: p.logOrigin,
      chain: { rpcUrl: chain.rpcUrl, chainId: 31337 },
      deploymentFile: join(dir, 'deployment.json'),
      log: { anchorIntervalMs: 500 },
      devIdentityHeader: true,
      practitionerCredentials: { required: true, syncIntervalMs: 200 },
      ...overrides,
    });
    const node = await startNode(p.nodeDir, { log: () => undefined, port: 0 });
    const { readFileSync } = await import('node:fs');
    const adminToken = readFileSync(nodePaths(p.nodeDir).adminToken, 'utf8').trim();
    members.push({ name: p.name, url: p.url, node, account: p.account, adminToken });
  }
  const [hospital, lab, boardMember] = members as [TestMember, TestMember, TestMember | undefined];
  const realFetch = globalThis.fetch;
  const fetchBetween = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const member = members.find((m) => m.url === url.origin);
    if (member === undefined) return realFetch(input, init);
    return member.node.app.request(`${url.pathname}${url.search}`, init);
  }) as typeof fetch;
  const reader = createPublicClient({ chain: foundry, transport: http(chain.rpcUrl) });
  const wallet = createWalletClient({ account: board, chain: foundry, transport: http(chain.rpcUrl) });
  return {
    chain,
    deployment,
    board,
    hospital,
    lab,
    ...(boardMember === undefined ? {} : { boardNode: boardMember }),
    fetchBetween,
    async boardSends(to, data) {
      const hash = await wallet.sendTransaction({ to, data, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n });
      const receipt = await reader.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      return receipt.status === 'success';
    },
    async stop() {
      for (const m of members) await m.node.close();
      await chain.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
