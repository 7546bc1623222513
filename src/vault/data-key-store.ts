import type { WrappedKey } from './key-provider.js';

/**
 * The patient id that stands for the node itself: resources with no patient compartment
 * (Organization, Practitioner, Location, ...) are encrypted under a node-level data key stored under
 * this id. FHIR ids are 1 to 64 characters (FHIR R4 §2.24.0.1 "id"), so '' never collides with a
 * real patient; it cannot be destroyed through patient erasure.
 */
export const NODE_KEY_PATIENT_ID = '';

/** A patient's data key as stored: only ever wrapped under a KEK. */
export interface StoredDataKey {
  readonly patientId: string;
  /** 1 for the first key; rotation adds the next version and keeps older ones for older records. */
  readonly version: number;
  readonly wrapped: WrappedKey;
  readonly createdAt: number;
}

export interface DestroyedDataKeys {
  /** How many key versions were deleted (0 if the patient had none, or was already erased). */
  readonly deletedVersions: number;
  readonly destroyedAt: number;
  /** Whether the deleted bytes were also pushed out of the write-ahead log (see the adapter). */
  readonly checkpointed: boolean;
}

/**
 * Where wrapped per-patient data keys live. The vault (`VaultCrypto`) generates and unwraps keys; the
 * store only keeps wrapped bytes, and answers "erased" for a patient whose keys were destroyed, so
 * that reads can say 410 Gone rather than 404 Not Found: `get`, `getOrCreate` and `addVersion` throw
 * the `erased` error for such a patient, so no new key is ever created for them.
 */
export interface DataKeyStore {
  /** The given version, or the latest if none is given; undefined when there is none. */
  get(patientId: string, version?: number): Promise<StoredDataKey | undefined>;
  /**
   * The latest key, creating version 1 with `create(1)` when the patient has none. When two callers
   * race, one key wins and both get it: callers must use the returned key, not what they created.
   */
  getOrCreate(
    patientId: string,
    create: (version: number) => Promise<WrappedKey>,
  ): Promise<{ key: StoredDataKey; created: boolean }>;
  /** Adds the next version (data-key rotation) and returns it. */
  addVersion(patientId: string, create: (version: number) => Promise<WrappedKey>): Promise<StoredDataKey>;
  /**
   * Crypto-shredding: deletes every version of the patient's key and records a tombstone holding
   * only a keyed hash of the patient id and the time. Idempotent.
   */
  destroy(patientId: string): Promise<DestroyedDataKeys>;
  /** When the patient's keys were destroyed, or undefined if they were not. Never throws `erased`. */
  erasedAt(patientId: string): Promise<number | undefined>;
  /** Up to `limit` keys not wrapped under `kekId`, for rewrapping after a KEK rotation. */
  listNotWrappedBy(kekId: string, limit: number): Promise<StoredDataKey[]>;
  /**
   * Replaces a key's wrapping if it is still `expected` (compare-and-set on KEK id and nonce);
   * returns false if the key changed or was destroyed meanwhile.
   */
  replaceWrapped(
    patientId: string,
    version: number,
    expected: WrappedKey,
    replacement: WrappedKey,
  ): Promise<boolean>;
}
