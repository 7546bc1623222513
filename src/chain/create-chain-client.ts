import { BaseError, createPublicClient, defineChain, http, type PublicClient, type Transport } from 'viem';

/** Where each state read takes its block parameter. */
const STATE_READ_BLOCK_PARAM: Readonly<Record<string, number>> = {
  eth_call: 1,
  eth_estimateGas: 1,
  eth_createAccessList: 1,
  eth_getBalance: 1,
  eth_getCode: 1,
  eth_getTransactionCount: 1,
  eth_getStorageAt: 2,
  eth_getProof: 2,
};
const LATEST_STATE_ATTEMPTS = 5;

/** A state read of the newest state (a block tag, or no block at all), not pinned to a block number. */
function readsLatestState(method: string, params: unknown): boolean {
  const position = STATE_READ_BLOCK_PARAM[method];
  if (position === undefined) return false;
  const block = Array.isArray(params) ? params[position] : undefined;
  return block === undefined || block === 'latest' || block === 'pending';
}

function isBlockOutOfRange(error: unknown): boolean {
  return (
    error instanceof BaseError &&
    error.walk((e) => /BlockOutOfRange/.test(`${(e as BaseError).details ?? ''} ${(e as Error).message}`)) !==
      null
  );
}

/**
 * anvil reads the `latest` state in two steps: it names the head block, then reads that block's state.
 * Run with `--prune-history` (the embedded chain), it keeps no state but the head's, so a block mined
 * between the two steps fails the read with -32602 `BlockOutOfRangeError` although the caller never
 * named a block (seen under load every few blocks; test/chain/latest-state-race.int.test.ts). Asking
 * again reads the new head, which is what `latest` means: such reads are re-sent, a few times at
 * most. A read pinned to a block number is not: its state is really gone.
 */
function retryingLatestStateRace(transport: Transport): Transport {
  return (params) => {
    const inner = transport(params);
    const request = (async (args, options) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await inner.request(args, options);
        } catch (error) {
          const retry =
            attempt < LATEST_STATE_ATTEMPTS &&
            readsLatestState(args.method, args.params) &&
            isBlockOutOfRange(error);
          if (!retry) throw error;
        }
      }
    }) as typeof inner.request;
    return { ...inner, request };
  };
}

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
  // No transport retries for failures: the outbox and the indexer retry on their own ticks, visibly.
  // Only anvil's race on the latest state is re-asked at once (see retryingLatestStateRace).
  return createPublicClient({
    chain,
    transport: retryingLatestStateRace(http(rpcUrl, { retryCount: 0, timeout: options.timeoutMs ?? 10_000 })),
    pollingInterval: 250,
  });
}
