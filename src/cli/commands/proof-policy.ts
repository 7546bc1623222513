import type { Address } from 'viem';
import { createChainClient } from '../../chain/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { consortiumRegistryAbi, loadDeployment } from '../../ledger/index.js';
import { deriveWitnessVerifierKey, witnessName } from '../../node/witness-keys.js';
import { deploymentFile, resolveRpcUrl } from '../data-dir.js';

export interface ProofPolicyOptions {
  readonly dataDir: string;
  /** A log origin (`hospital.careledger.test/log`) or a member node URL (`http://127.0.0.1:8701`). */
  readonly log: string;
  readonly rpcUrl?: string;
  /** Witness cosignatures to require; default: what the member's node requires (a majority of the others). */
  readonly quorum?: number;
}

/** A member as ConsortiumRegistry holds it, read from the chain. */
export interface LedgerMember {
  readonly address: Address;
  readonly name: string;
  readonly logOrigin: string;
  readonly logVerifierKey: string;
  readonly fhirBaseUrl: string;
  readonly active: boolean;
}

/**
 * Every member of the consortium as the chain says now, for CLI checks that trust the ledger
 * and nothing the nodes say: the deployment, a chain client, the head before reading, the members.
 * ERR_CHAIN_UNAVAILABLE (with the reason) if the chain does not answer.
 */
export async function readLedgerMembers(dataDir: string, rpcUrl?: string) {
  const deployment = loadDeployment(deploymentFile(dataDir));
  // A person waits at the terminal: a loaded machine's chain gets longer than a node's 10 s.
  const client = createChainClient(resolveRpcUrl(dataDir, rpcUrl), deployment.chainId, {
    timeoutMs: 30_000,
  });
  const registry = { address: deployment.contracts.consortiumRegistry, abi: consortiumRegistryAbi } as const;
  try {
    // Read at the latest state, not pinned to `block`: the embedded anvil runs with --prune-history
    // and keeps no state for older blocks, so a call pinned to the head it just named fails whenever
    // a block is mined in between ("Invalid parameters"; seen in CI as a `proof policy` exit 69).
    const block = await client.getBlockNumber();
    const addresses = await client.readContract({ ...registry, functionName: 'memberAddresses' });
    const members: LedgerMember[] = await Promise.all(
      addresses.map(async (address) => {
        const m = await client.readContract({
          ...registry,
          functionName: 'getMember',
          args: [address],
        });
        return {
          address,
          name: m.name,
          logOrigin: m.logOrigin,
          logVerifierKey: m.logVerifierKey,
          fhirBaseUrl: m.fhirBaseUrl,
          active: m.status === 1,
        };
      }),
    );
    return { deployment, client, block, members };
  } catch (cause) {
    const why =
      cause instanceof Error ? ((cause as { shortMessage?: string }).shortMessage ?? cause.message) : '';
    throw new CareLedgerError(
      'ERR_CHAIN_UNAVAILABLE',
      `the chain does not answer; is the consortium running? (${why.split('\n')[0]})`,
      { cause },
    );
  }
}

/**
 * Writes a `careledger proof verify` policy from the ledger, the one source both sides trust: the
 * log's key as the consortium admitted it, and the witness keys of the other active members.
 */
export async function createProofPolicy(options: ProofPolicyOptions): Promise<string> {
  const { deployment, block, members } = await readLedgerMembers(options.dataDir, options.rpcUrl);
  const wanted = options.log.replace(/\/+$/, '');
  const owner = members.find(
    (m) => m.logOrigin === wanted || m.fhirBaseUrl.replace(/\/fhir\/?$/, '') === wanted,
  );
  if (owner === undefined) {
    throw new CareLedgerError('ERR_NOT_FOUND', `no member of the consortium has the log or node ${wanted}`);
  }
  const witnesses = members.filter((m) => m.active && m.address !== owner.address);
  const quorum = options.quorum ?? Math.min(witnesses.length, Math.max(1, Math.ceil(witnesses.length / 2)));
  if (!Number.isInteger(quorum) || quorum < 0 || quorum > witnesses.length) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `--quorum must be between 0 and ${witnesses.length}`);
  }
  return [
    `# careledger proof verify policy for ${owner.logOrigin} (${owner.name})`,
    `# read from ConsortiumRegistry ${deployment.contracts.consortiumRegistry} on chain ${deployment.chainId} after block ${block}`,
    `log ${owner.logVerifierKey}`,
    ...witnesses.flatMap((m) => [
      `# witness: ${m.name} (${witnessName(m.logOrigin)})`,
      `witness ${deriveWitnessVerifierKey(m.logVerifierKey, m.logOrigin)}`,
    ]),
    `quorum ${quorum}`,
    '',
  ].join('\n');
}
