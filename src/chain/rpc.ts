import { CareLedgerError } from '../errors/index.js';

/** A bare JSON-RPC call, for the anvil_* methods viem has no typed action for. */
export async function callRpc<T>(
  url: string,
  method: string,
  params: unknown[] = [],
  timeoutMs = 30_000,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `the chain at ${url} does not answer (${method})`, {
      cause,
    });
  }
  const body = (await response.json()) as { result?: T; error?: { message?: string } };
  if (body.error !== undefined) {
    throw new CareLedgerError(
      'ERR_CHAIN_UNAVAILABLE',
      `${method} failed: ${body.error.message ?? 'unknown error'}`,
    );
  }
  return body.result as T;
}

export async function isRpcUp(url: string): Promise<boolean> {
  try {
    await callRpc(url, 'eth_chainId', [], 1_000);
    return true;
  } catch {
    return false;
  }
}
