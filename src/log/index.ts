/**
 * The transparency log's pure core: RFC 9162 Merkle trees and proofs, C2SP signed notes, checkpoints,
 * cosignatures, tiles and tlog proofs. No I/O: storage implements `HashReader` / `TileSource`.
 */
export { type Checkpoint, formatCheckpoint, parseCheckpoint } from './checkpoint.js';
export { CompactRange } from './compact-range.js';
export {
  createConsistencyProof,
  createInclusionProof,
  createMemoryHashReader,
  createSubtreeConsistencyProof,
  createSubtreeInclusionProof,
  type HashReader,
  nodeHash,
  rootAt,
  subtreeHash,
} from './create-proof.js';
export type {
  ApplyCommitGroup,
  CommitGroup,
  CommitWrite,
  LogAppendBatch,
  LogStorage,
  StoredCheckpoint,
  StoredNodeHash,
  WitnessLogState,
  WitnessStateStorage,
} from './log-storage.js';
export { MemoryLogStorage } from './memory-log-storage.js';
export { emptyRoot, HASH_SIZE, hashChildren, hashLeaf } from './merkle-hash.js';
export {
  addNoteSignatures,
  computeKeyId,
  createNoteSignature,
  createSignerKey,
  formatSignedNote,
  formatVerifierKey,
  isValidKeyName,
  MAX_NOTE_SIGNATURES,
  NOTE_KEY_TYPES,
  type NoteKeyType,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  parseSignedNote,
  parseSignerKey,
  parseVerifierKey,
  type SignedNote,
  signNote,
  type VerifiedNote,
  type VerifiedNoteSignature,
  verifierOf,
  verifyNote,
} from './signed-note.js';
export {
  createTileHashReader,
  encodeEntryBundle,
  encodeTile,
  formatTilePath,
  MAX_ENTRY_SIZE,
  parseEntryBundle,
  parseTile,
  parseTilePath,
  rootAtFromTiles,
  rootFromTiles,
  TILE_HEIGHT,
  TILE_WIDTH,
  type TileCoordinate,
  type TileSource,
  tileForHash,
  tilesForSize,
  verifyEntryBundle,
} from './tiles.js';
export {
  formatTlogProof,
  parseTlogProof,
  TLOG_PROOF_HEADER,
  TLOG_PROOF_STEPS,
  type TlogProof,
  type TlogProofStep,
  type VerifiedTlogProof,
  type VerifyTlogProofOptions,
  verifyTlogProof,
} from './tlog-proof.js';
export {
  type AppendOptions,
  type AppendResult,
  type Clock,
  type LogFloor,
  type OpenTransparencyLogOptions,
  type Scheduler,
  type StartCheckpointingOptions,
  systemClock,
  systemScheduler,
  TransparencyLog,
} from './transparency-log.js';
export {
  isValidSubtree,
  PROOF_CHECKS,
  type ProofCheck,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  verifyConsistencyProof,
  verifyInclusionProof,
  verifySubtreeConsistencyProof,
  verifySubtreeInclusionProof,
} from './verify-proof.js';
export {
  type CollectResult,
  CosignatureCollector,
  type CosignaturePolicy,
  formatAddCheckpointRequest,
  MAX_ADD_CHECKPOINT_BODY,
  requestCosignature,
  TLOG_SIZE_CONTENT_TYPE,
  type TrustedLog,
  Witness,
  type WitnessPolicyEntry,
  type WitnessResponse,
} from './witness.js';
export { evaluateWitnessFloor, type WitnessFloorDecision } from './witness-floor.js';
