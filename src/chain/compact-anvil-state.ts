/**
 * Keeps the embedded chain's persisted state bounded. An anvil state dump holds the account state
 * (contract storage: what the contracts need) plus every block and every transaction with its
 * receipt and its execution trace. Measured here: at 1,500 transactions the traces were 46 % of the
 * dump and blocks + transactions 87 %; the dump grows without bound with history.
 *
 * Compaction drops the traces (only debug_trace* uses them; receipts and logs stay) and every block
 * and transaction older than `keepBlocks` behind the head. The account state is untouched, so every
 * contract answers exactly as before; what is lost is old history: `eth_getLogs` and receipts for
 * blocks outside the window. Nodes index events continuously, so they only need history for the time
 * they were offline (see docs/decisions/0001-embedded-anvil-with-own-journal.md).
 */
export interface AnvilStateDump {
  best_block_number?: number;
  blocks?: { header?: { number?: string } }[];
  transactions?: { block_number?: number; info?: { traces?: unknown[] } }[];
  [key: string]: unknown;
}

export interface CompactionResult {
  readonly blocksBefore: number;
  readonly blocksAfter: number;
  readonly transactionsBefore: number;
  readonly transactionsAfter: number;
}

export function compactAnvilState(state: AnvilStateDump, keepBlocks: number): CompactionResult {
  const blocks = state.blocks ?? [];
  const transactions = state.transactions ?? [];
  const best = state.best_block_number ?? 0;
  const oldest = Math.max(0, best - keepBlocks);
  const keptBlocks = blocks.filter((block) => Number.parseInt(block.header?.number ?? '0x0', 16) >= oldest);
  const keptTransactions = transactions.filter((tx) => (tx.block_number ?? 0) >= oldest);
  for (const tx of keptTransactions) {
    if (tx.info?.traces !== undefined) tx.info.traces = [];
  }
  state.blocks = keptBlocks;
  state.transactions = keptTransactions;
  return {
    blocksBefore: blocks.length,
    blocksAfter: keptBlocks.length,
    transactionsBefore: transactions.length,
    transactionsAfter: keptTransactions.length,
  };
}
