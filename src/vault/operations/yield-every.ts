import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * A yield point for long CPU-bound loops on the request thread (a transaction's validation,
 * indexing and sealing): every `every`-th call waits for the next turn of the event loop
 * (setImmediate, after pending I/O callbacks), so requests that arrived meanwhile are read and
 * answered between slices instead of after the whole loop (issue 16). Other calls return at once.
 * Counted in calls, not time, so the slicing is the same on every machine and in tests.
 */
export function createYieldEvery(every: number): () => Promise<void> {
  let calls = 0;
  return async () => {
    calls += 1;
    if (calls % every === 0) await nextTurn();
  };
}
