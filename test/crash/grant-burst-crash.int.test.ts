/**
 * Issue check for the foundation: SIGKILL the chain and a member node during a burst of grants, let
 * the supervisor restart both, and every acknowledged grant must end up on the ledger and in every
 * member's index. The size is small in CI (CARELEDGER_CRASH_GRANTS overrides it; the check
 * uses 500).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChainClient } from '../../src/chain/index.js';
import { readChainStatus } from '../../src/cli/commands/chain-status.js';
import { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { consentRegistryAbi } from '../../src/ledger/index.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { findFreePorts } from '../support/free-port.js';

const GRANTS = Number(process.env.CARELEDGER_CRASH_GRANTS ?? 120);
const dataDir = mkdtempSync(join(tmpdir(), 'careledger-crash-'));
const lines: string[] = [];
let dev: DevConsortium;

beforeAll(async () => {
  // Four distinct ports, found together: the chain's and the three nodes'.
  const [chainPort, ...nodePorts] = await findFreePorts(4);
  dev = new DevConsortium({
    dataDir,
    chainPort: chainPort as number,
    nodePorts,
    log: (line) => lines.push(line),
  });
  await dev.start();
}, 120_000);

afterAll(async () => {
  await dev?.stop();
  if (process.env.CARELEDGER_TEST_LOG)
    (await import('node:fs')).writeFileSync(process.env.CARELEDGER_TEST_LOG, lines.join('\n'));
  if (process.env.CARELEDGER_KEEP_DATA === undefined) rmSync(dataDir, { recursive: true, force: true });
});

async function postGrant(url: string, body: string): Promise<'ack' | 'already' | 'retry'> {
  try {
    const response = await fetch(`${url}/ledger/consent/grants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    if (response.status === 202) return 'ack';
    // A retry of a grant whose first attempt was stored and mined: it is on the ledger already.
    if (response.status === 409 && text.includes('NonceAlreadyUsed')) return 'already';
    return 'retry';
  } catch {
    return 'retry';
  }
}

describe('a burst of grants survives SIGKILL of the chain and of a node', () => {
  it('starts three admitted members, listed by chain status', async () => {
    const status = await readChainStatus(dataDir);
    expect(status.members.map((m) => [m.role, m.status])).toEqual([
      ['provider', 'active'],
      ['lab', 'active'],
      ['pharmacy', 'active'],
    ]);
    for (const member of status.members) {
      expect(member.name).not.toBe('');
      expect(member.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(member.fhirBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir$/);
    }
  });

  it(`keeps every acknowledged grant of ${GRANTS}`, async () => {
    const deployment = dev.deployment;
    if (deployment === undefined) throw new Error('no deployment');
    const hospital = dev.node('hospital');
    const lab = (await (await fetch(`${dev.node('lab').url}/status`)).json()) as { address: Address };
    const nowSeconds = Math.floor(Date.now() / 1000);
    const grants = await Promise.all(
      Array.from({ length: GRANTS }, () =>
        signGrantForNewPatient({
          chainId: deployment.chainId,
          consentRegistry: deployment.contracts.consentRegistry,
          grantee: lab.address,
          nowSeconds,
        }),
      ),
    );

    const acknowledged = new Set<Hex>();
    let next = 0;
    const worker = async () => {
      for (;;) {
        const index = next;
        next += 1;
        const grant = grants[index];
        if (grant === undefined) return;
        for (;;) {
          const outcome = await postGrant(hospital.url, grant.body);
          if (outcome !== 'retry') {
            acknowledged.add(grant.grantId);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    };
    const burst = Promise.all(Array.from({ length: 16 }, worker));
    // Crash both while the burst is running: first the chain, then the relaying node.
    const crashes = (async () => {
      while (acknowledged.size < GRANTS / 4) await new Promise((resolve) => setTimeout(resolve, 20));
      dev.chain.kill();
      while (acknowledged.size < GRANTS / 2) await new Promise((resolve) => setTimeout(resolve, 20));
      dev.killNode('hospital');
      await dev.waitForNode('hospital');
      await dev.chain.whenReady();
    })();
    await Promise.all([burst, crashes]);
    expect(acknowledged.size).toBe(GRANTS);
    expect(dev.chain.starts).toBeGreaterThanOrEqual(2);

    // Every grant is on the ledger (read from the contract itself) and in every member's index.
    const client = createChainClient(dev.chain.rpcUrl, deployment.chainId);
    const deadline = Date.now() + 90_000;
    const missing = new Set(grants.map((g) => g.grantId));
    while (missing.size > 0 && Date.now() < deadline) {
      for (const grantId of [...missing]) {
        const onChain = await client
          .readContract({
            address: deployment.contracts.consentRegistry,
            abi: consentRegistryAbi,
            functionName: 'getGrant',
            args: [grantId],
          })
          .then(() => true)
          .catch(() => false);
        if (onChain) missing.delete(grantId);
      }
      if (missing.size > 0) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect([...missing]).toEqual([]);
    for (const node of dev.nodes) {
      const until = Date.now() + 30_000;
      let indexed = 0;
      while (Date.now() < until) {
        const checks = await Promise.all(
          grants.map(
            async (g) => (await fetch(`${node.url}/ledger/consent/grants/${g.grantId}`)).status === 200,
          ),
        );
        indexed = checks.filter(Boolean).length;
        if (indexed === GRANTS) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const status = indexed === GRANTS ? '' : await (await fetch(`${node.url}/status`)).text();
      expect(indexed, `${node.name} index ${status}`).toBe(GRANTS);
    }
  }, 300_000);
});
