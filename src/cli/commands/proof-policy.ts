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

/**
 * Writes a `careledger proof verify` policy from the ledger, the one source both sides trust: the
 * log's key as the consortium admitted it, and the witness keys of the other active members.
 */
export async function createProofPolicy(options: ProofPolicyOptions): Promise<string> {
  const deployment = loadDeployment(deploymentFile(options.dataDir));
  // A person waits at the terminal: a loaded machine's chain gets longer than a node's 10 s.
  const client = createChainClient(resolveRpcUrl(options.dataDir, options.rpcUrl), deployment.chainId, {
    timeoutMs: 30_000,
  });
  const registry = { address: deployment.contracts.consortiumRegistry, abi: consortiumRegistryAbi } as const;
  let block: bigint;
  let members: {
    address: Address;
    name: string;
    logOrigin: string;
    logVerifierKey: string;
    fhirBaseUrl: string;
    active: boolean;
  }[];
  try {
    block = await client.getBlockNumber();
    const addresses = await client.readContract({
      ...registry,
      functionName: 'memberAddresses',
      blockNumber: block,
    });
    members = await Promise.all(
      addresses.map(async (address) => {
        const m = await client.readContract({
          ...registry,
          functionName: 'getMember',
          args: [address],
          blockNumber: block,
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
  } catch (cause) {
    const why =
      cause instanceof Error ? ((cause as { shortMessage?: string }).shortMessage ?? cause.message) : '';
    throw new CareLedgerError(
      'ERR_CHAIN_UNAVAILABLE',
      `the chain does not answer; is the consortium running? (${why.split('\n')[0]})`,
      { cause },
    );
  }
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
    `# read from ConsortiumRegistry ${deployment.contracts.consortiumRegistry} on chain ${deployment.chainId} at block ${block}`,
    `log ${owner.logVerifierKey}`,
    ...witnesses.flatMap((m) => [
      `# witness: ${m.name} (${witnessName(m.logOrigin)})`,
      `witness ${deriveWitnessVerifierKey(m.logVerifierKey, m.logOrigin)}`,
    ]),
    `quorum ${quorum}`,
    '',
  ].join('\n');
}
