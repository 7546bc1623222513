/**
 * The cause of `BlockOutOfRangeError: block height is 1 but requested was 0` (compaction test under
 * load, and the proof-policy flake): anvil answers a read of the `latest` state by first naming the
 * head block and then reading that block's state. The embedded chain runs with `--prune-history`,
 * which keeps no state for any block but the head, so when a block is mined between the two steps the
 * read fails with JSON-RPC -32602 although it was never pinned to a block. On a loaded machine the
 * window is wide enough to hit every few blocks.
 *
 * Here blocks are mined back to back (`evm_mine`) while reads run, which makes the window as likely on
 * an idle machine: a fixed number of reads of the latest state must all succeed, and a read pinned to
 * a pruned block must still fail (the chain client retries only the unpinned race).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callRpc, createChainClient, EmbeddedChain } from '../../src/chain/index.js';
import { findFreePort } from '../support/free-port.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-race-'));
let chain: EmbeddedChain;

beforeAll(async () => {
  chain = new EmbeddedChain({
    dir: join(dir, 'chain'),
    port: await findFreePort(),
    snapshotIntervalMs: 3_600_000,
  });
  await chain.start();
});

afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Mines blocks back to back until `done` resolves. */
async function mineUntil(done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  let mined = 0;
  while (!finished) {
    await callRpc(chain.rpcUrl, 'evm_mine');
    mined += 1;
  }
  return mined;
}

describe('reads of the latest state on the embedded chain (anvil --prune-history)', () => {
  it('all succeed while blocks are being mined', async () => {
    const client = createChainClient(chain.rpcUrl, 31337);
    const account = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
    const failures: string[] = [];
    let next = 0;
    const READS = 1_000;
    const reader = async () => {
      while (next < READS) {
        next += 1;
        // A creation call (no `to`) runs the init code 0x6080604052: it needs the state, nothing else.
        await client.call({ account, data: '0x6080604052' }).catch((error: Error) => {
          failures.push(
            error.message.split('\n').find((line) => line.startsWith('Details:')) ?? error.message,
          );
        });
      }
    };
    const reads = Promise.all(Array.from({ length: 12 }, reader));
    const mined = await mineUntil(reads);
    expect(mined).toBeGreaterThan(10);
    expect(failures.slice(0, 3), `${failures.length} of ${READS} reads failed`).toEqual([]);
  });

  it('still refuses a read pinned to a block whose state was pruned', async () => {
    const client = createChainClient(chain.rpcUrl, 31337);
    await callRpc(chain.rpcUrl, 'evm_mine');
    const head = await client.getBlockNumber({ cacheTime: 0 });
    await callRpc(chain.rpcUrl, 'evm_mine');
    await expect(
      client.call({
        account: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
        data: '0x00',
        blockNumber: head - 1n,
      }),
    ).rejects.toThrow(/BlockOutOfRange/);
  });
});
