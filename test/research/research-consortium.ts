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
import type { EmbeddedChain } from '../../src/chain/index.js';
import type { MemberRole } from '../../src/ledger/codes.js';
import type { Deployment } from '../../src/ledger/index.js';
import { nodePaths, saveNodeConfig } from '../../src/node/node-config.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import {
  createTestMemberKeys,
  deployTestConsortium,
  testGenesisMember,
} from '../support/deploy-test-consortium.js';
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
  const prepared = MEMBERS.map((m, i) => {
    const nodeDir = join(dir, m.name);
    return {
      ...m,
      nodeDir,
      port: ports[i] as number,
      url: `http://127.0.0.1:${ports[i]}`,
      ...createTestMemberKeys(nodeDir, `${m.name}.careledger.test/log`),
    };
  });
  const { chain, deployment, nodeConfig } = await deployTestConsortium(
    dir,
    {
      members: prepared.map((p) =>
        testGenesisMember(p, { name: p.organization, role: p.role, fhirBaseUrl: `${p.url}/fhir` }),
      ),
      threshold: 2,
    },
    { chainPort: chainPort as number },
  );
  // The members holding data share the consortium's research pseudonym secret; the research group does not.
  const secret = `${'5a'.repeat(32)}\n`;
  const members: ResearchMember[] = [];
  for (const p of prepared) {
    saveNodeConfig(p.nodeDir, {
      ...nodeConfig,
      name: p.name,
      organization: p.organization,
      role: p.role,
      port: p.port,
      publicUrl: p.url,
      logOrigin: p.logOrigin,
      log: { anchorIntervalMs: 500 },
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
