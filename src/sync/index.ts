export { ChainIndexer, type ChainIndexerOptions, type SyncStatus } from './chain-indexer.js';
export type {
  BlockRef,
  ChainIndexStorage,
  IndexedAnchor,
  IndexedEvent,
  IndexedGrant,
  IndexedMember,
  IndexedPractitioner,
  IndexedProposal,
} from './index-storage.js';
