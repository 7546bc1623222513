/**
 * Two member nodes (a hospital and a lab) in-process on one real embedded chain, with a state medical
 * board as a third genesis member (no node: it signs its own transactions), k = 2, both nodes
 * requiring practitioner licences. Another member's requests go through `fetchBetween`, which routes
 * each node's public URL to its in-process app (real HTTP semantics, no port).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, type Hex, http } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import type { EmbeddedChain } from '../../src/chain/index.js';
import type { MemberRole } from '../../src/ledger/codes.js';
import type { Deployment } from '../../src/ledger/index.js';
import { type NodeConfig, nodePaths, saveNodeConfig } from '../../src/node/node-config.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import {
  createTestMemberKeys,
  deployTestConsortium,
  testGenesisMember,
} from '../support/deploy-test-consortium.js';

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
  const genesis: readonly { name: string; organization: string; role: MemberRole }[] = [
    { name: 'hospital', organization: 'hospital member', role: 'provider' },
    { name: 'lab', organization: 'lab member', role: 'lab' },
    { name: 'board', organization: 'State Medical Board', role: 'licensing-board' },
  ];
  const prepared = genesis.map((m) => {
    const nodeDir = join(dir, m.name);
    return {
      ...m,
      nodeDir,
      url: `http://${m.name}.careledger.test`,
      ...createTestMemberKeys(nodeDir, `${m.name}.careledger.test/log`),
    };
  });
  const board = (prepared[2] as (typeof prepared)[number]).account;
  const { chain, deployment, nodeConfig } = await deployTestConsortium(dir, {
    members: prepared.map((p) =>
      testGenesisMember(p, { name: p.organization, role: p.role, fhirBaseUrl: `${p.url}/fhir` }),
    ),
    threshold: 2,
  });
  const members: TestMember[] = [];
  for (const p of options.boardNode === true ? prepared : prepared.slice(0, 2)) {
    saveNodeConfig(p.nodeDir, {
      ...nodeConfig,
      name: p.name,
      organization: p.organization,
      role: p.role,
      port: 0,
      publicUrl: p.url,
      logOrigin: p.logOrigin,
      log: { anchorIntervalMs: 500 },
      practitionerCredentials: { required: true, syncIntervalMs: 200 },
      ...overrides,
    });
    const node = await startNode(p.nodeDir, { log: () => undefined, port: 0 });
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
