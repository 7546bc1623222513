/**
 * A JSON-RPC proxy in front of a test chain that forwards only the standard Ethereum methods
 * (execution-apis eth_*, net_version, web3_clientVersion) and refuses every other one, as a
 * production client without anvil's extensions would: anvil_*, evm_*, hardhat_*, debug_*, … A test
 * that runs CareLedger through it shows no code path needs a development-chain method.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

const STANDARD = new Set([
  'eth_blockNumber',
  'eth_call',
  'eth_chainId',
  'eth_estimateGas',
  'eth_feeHistory',
  'eth_gasPrice',
  'eth_getBalance',
  'eth_getBlockByHash',
  'eth_getBlockByNumber',
  'eth_getBlockTransactionCountByHash',
  'eth_getBlockTransactionCountByNumber',
  'eth_getCode',
  'eth_getLogs',
  'eth_getStorageAt',
  'eth_getTransactionByHash',
  'eth_getTransactionCount',
  'eth_getTransactionReceipt',
  'eth_maxPriorityFeePerGas',
  'eth_sendRawTransaction',
  'eth_syncing',
  'net_version',
  'web3_clientVersion',
]);

export interface StandardRpcProxy {
  readonly url: string;
  /** Every non-standard method a client asked for (refused with -32601). */
  readonly refused: string[];
  /** Every method forwarded, for the report. */
  readonly forwarded: Set<string>;
  close(): Promise<void>;
}

interface RpcRequest {
  id?: unknown;
  method?: unknown;
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startStandardRpcProxy(upstream: string): Promise<StandardRpcProxy> {
  const refused: string[] = [];
  const forwarded = new Set<string>();
  const answer = async (call: RpcRequest): Promise<unknown> => {
    const method = String(call.method);
    if (!STANDARD.has(method)) {
      refused.push(method);
      return {
        jsonrpc: '2.0',
        id: call.id ?? null,
        error: { code: -32601, message: `the method ${method} does not exist/is not available` },
      };
    }
    forwarded.add(method);
    const response = await fetch(upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(call),
    });
    return response.json();
  };
  const server = createServer((request, response) => {
    void (async () => {
      try {
        const parsed = JSON.parse(await body(request)) as RpcRequest | RpcRequest[];
        const result = Array.isArray(parsed) ? await Promise.all(parsed.map(answer)) : await answer(parsed);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      } catch (error) {
        response.writeHead(502).end(String(error));
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refused,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
