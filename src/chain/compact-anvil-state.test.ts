import { describe, expect, it } from 'vitest';
import { type AnvilStateDump, compactAnvilState } from './compact-anvil-state.js';

function dump(best: number): AnvilStateDump {
  return {
    accounts: { '0xabc': { storage: { '0x1': '0x2' } } },
    best_block_number: best,
    blocks: Array.from({ length: best + 1 }, (_, n) => ({ header: { number: `0x${n.toString(16)}` } })),
    transactions: Array.from({ length: best + 1 }, (_, n) => ({
      block_number: n,
      info: { traces: [{ big: 'x' }] },
    })),
  };
}

describe('compactAnvilState', () => {
  it('keeps the account state, the last keepBlocks blocks and their transactions, without traces', () => {
    const state = dump(100);
    const result = compactAnvilState(state, 10);
    expect(result).toEqual({
      blocksBefore: 101,
      blocksAfter: 11,
      transactionsBefore: 101,
      transactionsAfter: 11,
    });
    expect(state.accounts).toEqual({ '0xabc': { storage: { '0x1': '0x2' } } });
    expect(state.blocks?.map((b) => b.header?.number)).toEqual(
      Array.from({ length: 11 }, (_, i) => `0x${(90 + i).toString(16)}`),
    );
    expect(state.transactions?.every((tx) => tx.info?.traces?.length === 0)).toBe(true);
  });

  it('keeps everything when the history is shorter than the window', () => {
    const state = dump(5);
    expect(compactAnvilState(state, 10)).toMatchObject({ blocksAfter: 6, transactionsAfter: 6 });
  });
});
