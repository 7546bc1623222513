import { createPublicClient, defineChain, http, type PublicClient } from 'viem';

/** A viem client for the consortium chain at `rpcUrl` (the embedded anvil, or Besu in production). */
export function createChainClient(
  rpcUrl: string,
  chainId: number,
  options: { readonly timeoutMs?: number } = {},
): PublicClient {
  const chain = defineChain({
    id: chainId,
    name: `careledger-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  // No transport retries: the outbox and the indexer retry on their own ticks, visibly.
  return createPublicClient({
    chain,
    transport: http(rpcUrl, { retryCount: 0, timeout: options.timeoutMs ?? 10_000 }),
    pollingInterval: 250,
  });
}
