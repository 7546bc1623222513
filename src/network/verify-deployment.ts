import { type Hex, keccak256, type PublicClient } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import type { Deployment } from '../ledger/index.js';

/** One thing found wrong between a chain and a deployment record, with what to do about it. */
export interface DeploymentProblem {
  readonly check: 'chain-id' | 'contract-missing' | 'contract-differs';
  readonly message: string;
  readonly fix: string;
}

/** keccak256 of each deployed contract's runtime code, for the deployment record. */
export async function readCodeHashes(
  client: PublicClient,
  contracts: Deployment['contracts'],
): Promise<Record<string, Hex>> {
  const hashes: Record<string, Hex> = {};
  for (const [name, address] of Object.entries(contracts)) {
    const code = await client.getCode({ address });
    if (code === undefined || code === '0x')
      throw new CareLedgerError('ERR_CHAIN_REVERTED', `no code at ${address} (${name}) after deployment`);
    hashes[name] = keccak256(code);
  }
  return hashes;
}

/**
 * Compares the chain behind `client` with the deployment record: the same chain id (also the node's
 * configured one), and at each recorded address code whose hash is the recorded one. Uses only
 * standard eth_* methods, so it runs against any EVM node.
 */
export async function findDeploymentProblems(
  client: PublicClient,
  deployment: Deployment,
  configuredChainId: number,
): Promise<DeploymentProblem[]> {
  const problems: DeploymentProblem[] = [];
  const chainId = await client.getChainId();
  for (const [what, expected] of [
    ['the deployment record', deployment.chainId],
    ['node.json (chain.chainId)', configuredChainId],
  ] as const) {
    if (chainId !== expected)
      problems.push({
        check: 'chain-id',
        message: `the chain answers with chain id ${chainId}; ${what} says ${expected}`,
        fix: 'point the node at the consortium chain (CARELEDGER_CHAIN_RPC_URL, chain.rpcUrl) or use that chain’s deployment record',
      });
  }
  if (problems.length > 0) return problems;
  for (const [name, address] of Object.entries(deployment.contracts)) {
    const code = await client.getCode({ address });
    if (code === undefined || code === '0x') {
      problems.push({
        check: 'contract-missing',
        message: `no contract at ${address} (${name}) on this chain`,
        fix: 'the deployment record belongs to another chain, or the chain lost its state: get the record from the member that deployed',
      });
      continue;
    }
    const recorded = deployment.codeHashes?.[name];
    if (recorded !== undefined && keccak256(code) !== recorded) {
      problems.push({
        check: 'contract-differs',
        message: `the code at ${address} (${name}) differs from the deployment record`,
        fix: 'do not start: compare the record with the other members’ copies and the chain (eth_getCode); a different contract there means a different consortium',
      });
    }
  }
  return problems;
}

/** Throws ERR_CONFIG naming the first problem: a node must not run against a chain it was not set up for. */
export async function verifyChainMatchesDeployment(
  client: PublicClient,
  deployment: Deployment,
  configuredChainId: number,
): Promise<void> {
  let problems: DeploymentProblem[];
  try {
    problems = await findDeploymentProblems(client, deployment, configuredChainId);
  } catch (cause) {
    throw new CareLedgerError(
      'ERR_CHAIN_UNAVAILABLE',
      'the chain does not answer; cannot check the deployment',
      {
        cause,
      },
    );
  }
  const [first] = problems;
  if (first !== undefined)
    throw new CareLedgerError('ERR_CONFIG', `refusing to start: ${first.message} (${first.fix})`, {
      details: { reason: first.check },
    });
}

/**
 * At node start: refuses a chain that does not match the deployment record; a chain that does not
 * answer yet is only logged (the outbox and the indexer wait for it, as before), and its code is
 * checked by the transactions' own preflight (no code at an address is refused there).
 */
export async function checkChainAtStart(
  client: PublicClient,
  deployment: Deployment,
  configuredChainId: number,
  log: (line: string) => void,
): Promise<void> {
  try {
    await verifyChainMatchesDeployment(client, deployment, configuredChainId);
  } catch (error) {
    if (error instanceof CareLedgerError && error.code === 'ERR_CHAIN_UNAVAILABLE') {
      log('the chain does not answer yet; its contracts are not checked against the deployment record');
      return;
    }
    throw error;
  }
}
