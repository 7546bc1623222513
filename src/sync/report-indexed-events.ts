import type { ChainIndexStorage, IndexedEvent } from './index-storage.js';

export interface IndexedEventListener {
  /** Called before a batch is applied and again once it is (applied or failed). */
  readonly onEvents: (events: readonly IndexedEvent[]) => void;
  /** Called before a rollback and again once it is done. */
  readonly onRollback: () => void;
}

/**
 * The same index storage, telling `listener` about every batch and rollback the chain indexer makes,
 * so that what is derived from the index in memory (the consent decision cache) is dropped exactly
 * when the index changes. Called on both sides of the write, so a reader that raced the write cannot
 * keep what it read before it.
 */
export function reportIndexedEvents(
  storage: ChainIndexStorage,
  listener: IndexedEventListener,
): ChainIndexStorage {
  return new Proxy(storage, {
    get(target, property) {
      if (property === 'applyBatch') {
        return async (batch: Parameters<ChainIndexStorage['applyBatch']>[0]) => {
          listener.onEvents(batch.events);
          try {
            await target.applyBatch(batch);
          } finally {
            listener.onEvents(batch.events);
          }
        };
      }
      if (property === 'rollbackTo') {
        return async (block: Parameters<ChainIndexStorage['rollbackTo']>[0]) => {
          listener.onRollback();
          try {
            await target.rollbackTo(block);
          } finally {
            listener.onRollback();
          }
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
