import type { Address } from 'viem';
import { createChainClient } from '../../chain/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { consortiumRegistryAbi, loadDeployment, parseMemberRole } from '../../ledger/index.js';
import { deploymentFile, resolveRpcUrl } from '../data-dir.js';
import { requestJson } from '../http-json.js';

export interface ChainStatus {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly blockNumber: number;
  readonly contracts: Record<string, Address>;
  readonly threshold: number;
  readonly members: {
    readonly name: string;
    readonly role: string;
    readonly address: Address;
    readonly fhirBaseUrl: string;
    readonly logOrigin: string;
    readonly status: 'active' | 'removed';
    readonly sync: {
      readonly indexedBlock: number | null;
      readonly lagBlocks: number | null;
      readonly lagSeconds: number | null;
      /** Consent openings the node still owes other members, or gave up on (decision 0013). */
      readonly openingDelivery?: { readonly pending: number; readonly failed: number };
    } | null;
  }[];
}

/** Reads the consortium from the chain itself (not from a node's index) and asks each node its sync lag. */
export async function readChainStatus(dataDir: string, rpcOverride?: string): Promise<ChainStatus> {
  const deployment = loadDeployment(deploymentFile(dataDir));
  const rpcUrl = resolveRpcUrl(dataDir, rpcOverride);
  const client = createChainClient(rpcUrl, deployment.chainId);
  const registry = { address: deployment.contracts.consortiumRegistry, abi: consortiumRegistryAbi } as const;
  let blockNumber: bigint;
  let addresses: readonly Address[];
  let threshold: number;
  try {
    blockNumber = await client.getBlockNumber();
    addresses = await client.readContract({ ...registry, functionName: 'memberAddresses' });
    threshold = Number(await client.readContract({ ...registry, functionName: 'threshold' }));
  } catch (cause) {
    throw new CareLedgerError(
      'ERR_CHAIN_UNAVAILABLE',
      `the chain at ${rpcUrl} does not answer; is the consortium running?`,
      {
        cause,
      },
    );
  }
  const members = await Promise.all(
    addresses.map(async (address) => {
      const m = await client.readContract({ ...registry, functionName: 'getMember', args: [address] });
      const nodeUrl = m.fhirBaseUrl.replace(/\/fhir\/?$/, '');
      const sync = await requestJson<{
        sync: { indexedBlock: number | null; lagBlocks: number | null; lagSeconds: number | null };
        openingDelivery?: { pending: number; failed: number };
      }>(`${nodeUrl}/status`, { timeoutMs: 2_000 })
        .then((s) => ({
          indexedBlock: s.sync.indexedBlock,
          lagBlocks: s.sync.lagBlocks,
          lagSeconds: s.sync.lagSeconds,
          ...(s.openingDelivery === undefined
            ? {}
            : { openingDelivery: { pending: s.openingDelivery.pending, failed: s.openingDelivery.failed } }),
        }))
        .catch(() => null);
      return {
        name: m.name,
        role: parseMemberRole(m.role),
        address,
        fhirBaseUrl: m.fhirBaseUrl,
        logOrigin: m.logOrigin,
        status: m.status === 1 ? ('active' as const) : ('removed' as const),
        sync,
      };
    }),
  );
  return {
    rpcUrl,
    chainId: deployment.chainId,
    blockNumber: Number(blockNumber),
    contracts: { ...deployment.contracts },
    threshold,
    members,
  };
}

export function formatChainStatus(status: ChainStatus): string {
  // The contract's effective threshold is min(k, active members) (ConsortiumRegistry).
  const active = status.members.filter((m) => m.status === 'active').length;
  const lines = [
    `chain        ${status.rpcUrl} (chain id ${status.chainId})`,
    `block        ${status.blockNumber}`,
    ...Object.entries(status.contracts).map(([name, address]) => `${name.padEnd(12)} ${address}`),
    `admission    ${Math.min(status.threshold, active)} of ${active} active members' votes`,
    '',
    `${'member'.padEnd(32)} ${'role'.padEnd(10)} ${'status'.padEnd(8)} ${'address'.padEnd(42)} sync`,
  ];
  for (const m of status.members) {
    const sync =
      m.sync === null
        ? 'node unreachable'
        : `block ${m.sync.indexedBlock ?? '-'}, lag ${m.sync.lagBlocks ?? '-'} blocks / ${m.sync.lagSeconds === null ? '-' : m.sync.lagSeconds.toFixed(1)} s`;
    lines.push(`${m.name.padEnd(32)} ${m.role.padEnd(10)} ${m.status.padEnd(8)} ${m.address} ${sync}`);
    lines.push(`${''.padEnd(32)} ${m.fhirBaseUrl}`);
    const owed = m.sync?.openingDelivery;
    if (owed !== undefined && owed.pending + owed.failed > 0)
      lines.push(`${''.padEnd(32)} consent openings owed: ${owed.pending} pending, ${owed.failed} failed`);
  }
  return lines.join('\n');
}
