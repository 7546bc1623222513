/**
 * The grant-burst crash check (the foundation), shared by the SQLite run (grant-burst-crash.int.test.ts)
 * and the PostgreSQL run (consortium-postgres-crash.int.test.ts): SIGKILL the chain and the hospital
 * during a burst of grants, let the supervisor restart both, and every acknowledged grant must end up
 * on the ledger and in every member's index.
 *
 * Every wait is bounded, and a wait that runs out says what it waited for, with the answers the node
 * gave and the supervisor's last lines: a crash check that only times out hides whether a restart or a
 * relay never finished.
 */
import type { Address, Hex } from 'viem';
import { expect } from 'vitest';
import { createChainClient } from '../../src/chain/index.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { consentRegistryAbi } from '../../src/ledger/index.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';

export interface GrantBurstOptions {
  readonly dev: DevConsortium;
  /** What the supervisor printed (quoted when a wait runs out). */
  readonly lines: readonly string[];
  readonly grants: number;
  /** How long the burst may take, kills and restarts included. */
  readonly burstBoundMs: number;
  /** Just before the hospital is killed (PostgreSQL: it holds the sequencer lease). */
  readonly beforeNodeKill?: () => Promise<void>;
}

/** Runs the burst and the kills, then every check (vitest expectations). */
export async function checkGrantBurstSurvivesKills(options: GrantBurstOptions): Promise<void> {
  const { dev, lines } = options;
  const GRANTS = options.grants;
  const BURST_BOUND_MS = options.burstBoundMs;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const answers = new Map<string, number>();

  function report(): string {
    const tally = [...answers].map(([answer, count]) => `${answer} × ${count}`).join(', ');
    const hospital = dev.nodes.find((n) => n.name === 'hospital');
    return [
      `answers to POST /ledger/consent/grants: ${tally || 'none'}`,
      `chain starts: ${dev.chain.starts}, chain pid: ${dev.chain.pid ?? 'none'}, hospital pid: ${hospital?.process?.pid ?? 'none'}`,
      'supervisor log (last 30 lines):',
      ...lines.slice(-30).map((line) => `  ${line.slice(0, 300)}`),
    ].join('\n');
  }

  async function waitFor(
    what: string | (() => string),
    timeoutMs: number,
    done: () => boolean | Promise<boolean>,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) {
        const waitedFor = typeof what === 'string' ? what : what();
        throw new Error(`gave up after ${timeoutMs / 1000} s waiting for ${waitedFor}\n${report()}`);
      }
      await sleep(50);
    }
  }

  /** A promise that fails with a report if `work` takes longer than `timeoutMs`. */
  async function bounded<T>(what: string, timeoutMs: number, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`gave up after ${timeoutMs / 1000} s waiting for ${what}\n${report()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  function tallyAnswer(answer: string): void {
    answers.set(answer, (answers.get(answer) ?? 0) + 1);
  }

  async function postGrant(url: string, body: string): Promise<'ack' | 'already' | 'retry'> {
    try {
      const response = await fetch(`${url}/ledger/consent/grants`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      if (response.status === 202) {
        tallyAnswer('202');
        return 'ack';
      }
      // A retry of a grant whose first attempt was stored and mined (its answer lost in a crash): the
      // contract refused the replayed nonce, so the grant is on the ledger already. The node names
      // the refusal in the OperationOutcome's details.coding (urn:careledger:error-code).
      if (response.status === 409 && text.includes('ERR_NONCE_USED')) {
        tallyAnswer('409 ERR_NONCE_USED');
        return 'already';
      }
      const code = /"code"\s*:\s*"([^"]+)"/.exec(text)?.[1] ?? text.slice(0, 60);
      tallyAnswer(`${response.status} ${code}`);
      return 'retry';
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      tallyAnswer(cause?.code ?? (error as Error).name);
      return 'retry';
    }
  }

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
  const burstDeadline = Date.now() + BURST_BOUND_MS;
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next;
      next += 1;
      const grant = grants[index];
      if (grant === undefined) return;
      while (Date.now() < burstDeadline) {
        const outcome = await postGrant(hospital.url, grant.body);
        if (outcome !== 'retry') {
          acknowledged.add(grant.grantId);
          break;
        }
        await sleep(200);
      }
    }
  };
  const burst = Promise.all(Array.from({ length: 16 }, worker));
  // Crash both while the burst is running: first the chain, then the relaying node.
  const crashes = (async () => {
    await waitFor(
      `${GRANTS / 4} acknowledged grants before the chain is killed`,
      BURST_BOUND_MS,
      () => acknowledged.size >= GRANTS / 4,
    );
    await dev.chain.kill();
    await waitFor(
      `${GRANTS / 2} acknowledged grants before the hospital is killed`,
      BURST_BOUND_MS,
      () => acknowledged.size >= GRANTS / 2,
    );
    await options.beforeNodeKill?.();
    dev.killNode('hospital');
    await dev.waitForNode('hospital');
    await bounded('the chain to restart', 60_000, dev.chain.whenReady());
  })();
  await Promise.all([burst, crashes]);
  expect(acknowledged.size, `acknowledged within ${BURST_BOUND_MS / 1000} s\n${report()}`).toBe(GRANTS);
  expect(dev.chain.starts).toBeGreaterThanOrEqual(2);

  // Every grant is on the ledger (read from the contract itself) and in every member's index.
  const client = createChainClient(dev.chain.rpcUrl, deployment.chainId);
  const missing = new Set(grants.map((g) => g.grantId));
  await waitFor(
    () => `every grant on the ledger (${missing.size} missing)`,
    90_000,
    async () => {
      await Promise.all(
        [...missing].map(async (grantId) => {
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
        }),
      );
      return missing.size === 0;
    },
  );
  for (const node of dev.nodes) {
    let indexed = 0;
    await waitFor(
      () => `${node.name} to index every grant (${indexed} of ${GRANTS} so far)`,
      30_000,
      async () => {
        const checks = await Promise.all(
          grants.map((g) =>
            fetch(`${node.url}/ledger/consent/grants/${g.grantId}`, {
              signal: AbortSignal.timeout(10_000),
            })
              .then((response) => response.status === 200)
              .catch(() => false),
          ),
        );
        indexed = checks.filter(Boolean).length;
        return indexed === GRANTS;
      },
    );
  }
}
