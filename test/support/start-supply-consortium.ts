/**
 * A manufacturer, a wholesaler and a pharmacy as three in-process member nodes on one real embedded
 * chain, sharing one supply key (decision 0023), with the development identity header on: the
 * trading partners of the supply chain tests.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedChain } from '../../src/chain/index.js';
import type { MemberRole } from '../../src/ledger/codes.js';
import { saveNodeConfig } from '../../src/node/node-config.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import { SUPPLY_KEY_FILE } from '../../src/supply/index.js';
import { createTestMemberKeys, deployTestConsortium, testGenesisMember } from './deploy-test-consortium.js';
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
  const folders = MEMBERS.map((member) => {
    const nodeDir = join(dir, member.name);
    return { ...member, nodeDir, ...createTestMemberKeys(nodeDir, `${member.name}.careledger.test/log`) };
  });
  const { chain, nodeConfig } = await deployTestConsortium(dir, {
    members: folders.map((f) =>
      testGenesisMember(f, { name: f.organization, role: f.role, fhirBaseUrl: 'http://127.0.0.1:1/fhir' }),
    ),
    threshold: 1,
  });
  // A suite re-run on PostgreSQL (test/storage/*-on-postgres.int.test.ts): one throw-away cluster,
  // one database per member.
  const postgres = process.env.CARELEDGER_TEST_POSTGRES === '1' ? await startTestPostgres() : undefined;
  const supplyKey = randomBytes(32);
  const nodes: RunningNode[] = [];
  const extra: RunningNode[] = [];
  const databaseUrls: (string | undefined)[] = [];
  for (const f of folders) {
    writeFileSync(join(f.nodeDir, SUPPLY_KEY_FILE), `${supplyKey.toString('hex')}\n`, { mode: 0o600 });
    saveNodeConfig(f.nodeDir, {
      ...nodeConfig,
      name: f.name,
      organization: f.organization,
      role: f.role,
      port: 0,
      publicUrl: 'http://127.0.0.1:1',
      logOrigin: f.logOrigin,
      log: { anchorIntervalMs: 60_000 },
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
