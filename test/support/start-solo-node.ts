/**
 * One member node in-process on a real embedded chain, for integration tests: a fresh data folder,
 * anvil on a free port, the contracts deployed with this node as the only (genesis) member, and the
 * node started with the development identity header on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedChain } from '../../src/chain/index.js';
import { type NodeConfig, saveNodeConfig } from '../../src/node/node-config.js';
import { type RunningNode, type StartNodeOptions, startNode } from '../../src/node/start-node.js';
import { createTestMemberKeys, deployTestConsortium, testGenesisMember } from './deploy-test-consortium.js';
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
  const nodeDir = join(dir, 'solo');
  const keys = createTestMemberKeys(nodeDir, 'solo.careledger.test/log');
  const consortium = await deployTestConsortium(dir, {
    members: [
      testGenesisMember(keys, {
        name: 'Solo Clinic',
        role: 'provider',
        fhirBaseUrl: 'http://127.0.0.1:1/fhir',
      }),
    ],
    threshold: 1,
  });
  saveNodeConfig(nodeDir, {
    ...consortium.nodeConfig,
    name: 'solo',
    organization: 'Solo Clinic',
    role: 'provider',
    port: 0,
    publicUrl: 'http://127.0.0.1:1',
    logOrigin: keys.logOrigin,
    log: { anchorIntervalMs: 500 },
    ...overrides,
  });
  return {
    dir,
    nodeDir,
    chain: consortium.chain,
    logOrigin: keys.logOrigin,
    logVerifierKey: keys.logVerifierKey,
  };
}
