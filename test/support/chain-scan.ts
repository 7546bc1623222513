/**
 * Reads everything a chain holds, as any member or validator operator could, and says where a value
 * appears: every transaction's sender, recipient and calldata, every log's topics and data, and the
 * whole state (accounts and contract storage, through anvil's `anvil_dumpState`). For tests that some
 * identity never reaches the ledger (decision 0021).
 */
import { gunzipSync } from 'node:zlib';
import type { Hex } from 'viem';

export interface ChainContents {
  /** Lower-case hex without 0x, one string per place, named for the failure message. */
  readonly places: readonly { readonly where: string; readonly hex: string }[];
}

async function rpc<T>(url: string, method: string, params: readonly unknown[]): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

const strip = (hex: string | null | undefined) => (hex ?? '').replace(/^0x/, '').toLowerCase();

export async function readChainContents(rpcUrl: string): Promise<ChainContents> {
  const places: { where: string; hex: string }[] = [];
  const latest = Number(await rpc<Hex>(rpcUrl, 'eth_blockNumber', []));
  for (let n = 0; n <= latest; n++) {
    const block = await rpc<{
      transactions: { hash: Hex; from: Hex; to: Hex | null; input: Hex }[];
    } | null>(rpcUrl, 'eth_getBlockByNumber', [`0x${n.toString(16)}`, true]);
    for (const tx of block?.transactions ?? []) {
      places.push({ where: `tx ${tx.hash}`, hex: strip(tx.from) + strip(tx.to) + strip(tx.input) });
      const receipt = await rpc<{ logs: { topics: Hex[]; data: Hex }[] }>(
        rpcUrl,
        'eth_getTransactionReceipt',
        [tx.hash],
      );
      receipt.logs.forEach((log, i) => {
        places.push({
          where: `log ${i} of ${tx.hash}`,
          hex: log.topics.map(strip).join('') + strip(log.data),
        });
      });
    }
  }
  const dump = await rpc<Hex>(rpcUrl, 'anvil_dumpState', []);
  const state = gunzipSync(Buffer.from(strip(dump), 'hex'))
    .toString('utf8')
    .toLowerCase();
  places.push({ where: 'state (accounts and storage)', hex: state });
  return { places };
}

/** Where `value` (an address or any hex) appears, by place: empty when nowhere. */
export function findOnChain(contents: ChainContents, value: Hex): string[] {
  const needle = strip(value);
  return contents.places.filter((p) => p.hex.includes(needle)).map((p) => p.where);
}

/** How many transactions the scan read (so a test can tell it read something). */
export function countTransactions(contents: ChainContents): number {
  return contents.places.filter((p) => p.where.startsWith('tx ')).length;
}
