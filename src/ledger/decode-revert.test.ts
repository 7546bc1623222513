import { CallExecutionError, InvalidParamsRpcError, RpcRequestError } from 'viem';
import { describe, expect, it } from 'vitest';
import { shortenHex, toLedgerError } from './decode-revert.js';

/** A contract's creation code of the size of ConsortiumRegistry's (about 12 KB). */
const bytecode = `0x6080604052${'a5'.repeat(12_000)}` as const;

/** What viem throws when anvil refuses the simulation of a deployment (the compaction-test failure). */
function deploymentRefused(): CallExecutionError {
  const body = { method: 'eth_call', params: [{ data: bytecode }, 'latest'] };
  const rpc = new RpcRequestError({
    body,
    error: { code: -32602, message: 'BlockOutOfRangeError: block height is 1 but requested was 0' },
    url: 'http://127.0.0.1:8545',
  });
  return new CallExecutionError(new InvalidParamsRpcError(rpc), {
    account: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    data: bytecode,
  });
}

/** Every message a test runner or a log would print: the error's and each cause's. */
function printed(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) parts.push(e.message);
  return parts.join('\n');
}

describe('chain errors in messages', () => {
  it('cuts long hex to its start and length', () => {
    expect(shortenHex(`data: ${bytecode}, to 0x${'11'.repeat(20)}`)).toBe(
      `data: 0x6080604052${'a5'.repeat(27)}…(12005 bytes), to 0x${'11'.repeat(20)}`,
    );
  });

  it('keeps the chain reason and drops the repeated bytecode from a refused deployment', () => {
    const viemError = deploymentRefused();
    // The bytecode is in viem's own message several times over, and again in each cause.
    expect(printed(viemError).split(bytecode).length - 1).toBeGreaterThanOrEqual(4);

    const error = toLedgerError(viemError, 'deploy ConsortiumRegistry');
    expect(error.code).toBe('ERR_CHAIN_REVERTED');
    expect(error.message).toBe(
      'deploy ConsortiumRegistry was rejected by the chain: Invalid parameters were provided to the RPC method.\n' +
        'Double check you have provided the correct parameters. ' +
        '(BlockOutOfRangeError: block height is 1 but requested was 0)',
    );
    const text = printed(error);
    expect(text).not.toContain(bytecode.slice(0, 200));
    expect(text.length).toBeLessThan(3_000);
  });
});
