export { ChainIndexer, type ChainIndexerOptions, type SyncStatus } from './chain-indexer.js';
export type {
  BlockRef,
  ChainIndexStorage,
  IndexedAnchor,
  IndexedEvent,
  IndexedGrant,
  IndexedMember,
  IndexedPractitioner,
} from './index-storage.js';
