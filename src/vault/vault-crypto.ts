import { createHmac } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';
import { AES_256_KEY_SIZE } from './aes-256-gcm.js';
import { type DataKeyStore, type DestroyedDataKeys, NODE_KEY_PATIENT_ID } from './data-key-store.js';
import { checkWellFormed } from './encode-fields.js';
import type { KeyProvider } from './key-provider.js';
import { pooledRandomBytes } from './random-pool.js';
import {
  type DataKey,
  decryptRecord,
  encryptRecord,
  type RecordRef,
  type SealedRecord,
} from './record-cipher.js';
import { createErasedError, createNoDataKeyError } from './vault-errors.js';

/** The `KeyProvider.deriveSecret` purpose of the `keyedHash` key. */
export const KEYED_HASH_PURPOSE = 'careledger/vault/keyed-hash/v1';
const DEK_CONTEXT_LABEL = 'careledger/vault/dek/v1';
export const DEFAULT_DEK_CACHE_SIZE = 1000;

export interface VaultCryptoOptions {
  readonly keyProvider: KeyProvider;
  readonly dataKeys: DataKeyStore;
  /** How many patients' unwrapped data keys to keep in memory (least recently used go first). */
  readonly cacheSize?: number;
  readonly randomBytes?: (size: number) => Uint8Array;
}

interface CachedPatient {
  latest: number | undefined;
  readonly keys: Map<number, Uint8Array>;
}

/**
 * The vault's encryption façade: per-patient data keys (created on first use, wrapped by the node's
 * KEK, cached unwrapped for the most recently used patients) and the record cipher.
 *
 * Keys are destroyed through any instance or process: a cache hit still asks the store whether the
 * patient was erased (one indexed lookup), so erasure takes effect everywhere at once.
 */
export class VaultCrypto {
  private readonly cache = new Map<string, CachedPatient>();
  private readonly cacheSize: number;
  private readonly random: (size: number) => Uint8Array;
  /** Bumped by every destroy, so a key unwrapped while a destroy ran is not put back in the cache. */
  private destroyEpoch = 0;

  private constructor(
    private readonly keyProvider: KeyProvider,
    private readonly dataKeys: DataKeyStore,
    private readonly hashKey: Uint8Array,
    options: VaultCryptoOptions,
  ) {
    this.cacheSize = options.cacheSize ?? DEFAULT_DEK_CACHE_SIZE;
    if (!Number.isInteger(this.cacheSize) || this.cacheSize < 1) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the data-key cache size must be a positive integer');
    }
    this.random = options.randomBytes ?? pooledRandomBytes;
  }

  static async create(options: VaultCryptoOptions): Promise<VaultCrypto> {
    const hashKey = await options.keyProvider.deriveSecret(KEYED_HASH_PURPOSE);
    return new VaultCrypto(options.keyProvider, options.dataKeys, hashKey, options);
  }

  /** Encrypts one record version under the patient's latest data key, creating it on first use. */
  async encrypt(ref: RecordRef, plaintext: Uint8Array): Promise<SealedRecord> {
    const dek = await this.currentKey(ref.patientId);
    return encryptRecord(ref, plaintext, dek, this.random);
  }

  /**
   * Decrypts one record version. Throws `erased` if the patient's keys were destroyed,
   * `no-data-key` if the key version does not exist, `decrypt-failed` for anything else.
   */
  async decrypt(ref: RecordRef, sealed: SealedRecord): Promise<Uint8Array> {
    const dek = await this.keyAt(ref.patientId, sealed.keyVersion);
    return decryptRecord(ref, sealed, dek);
  }

  /**
   * Starts a new data-key version for the patient (e.g. after a consent revocation): later record
   * versions use it, older ones keep theirs. Returns the new version.
   */
  async rotateDataKey(patientId: string): Promise<number> {
    const epoch = this.destroyEpoch;
    let created: Uint8Array | undefined;
    const stored = await this.dataKeys.addVersion(patientId, async (version) => {
      created = this.random(AES_256_KEY_SIZE);
      return this.keyProvider.wrapKey(created, dekContext(patientId, version));
    });
    if (created !== undefined) this.remember(patientId, stored.version, created, true, epoch);
    return stored.version;
  }

  /**
   * Crypto-shredding: destroys every data key of the patient, so each of their records becomes
   * unreadable for good while ledger proofs over keyed hashes still verify. Idempotent.
   */
  async destroyPatientKeys(patientId: string): Promise<DestroyedDataKeys> {
    this.destroyEpoch++;
    this.cache.delete(patientId);
    const result = await this.dataKeys.destroy(patientId);
    this.cache.delete(patientId);
    return result;
  }

  /** When the patient's keys were destroyed, or undefined. */
  async erasedAt(patientId: string): Promise<number | undefined> {
    return patientId === NODE_KEY_PATIENT_ID ? undefined : this.dataKeys.erasedAt(patientId);
  }

  /**
   * After `rotateKek`: moves every stored data key onto the current KEK, in batches. Returns how many
   * were rewrapped. Once it returns, the old KEK can be retired.
   */
  async rewrapDataKeys(batchSize = 100): Promise<number> {
    let count = 0;
    for (;;) {
      const kekId = this.keyProvider.keyId;
      const batch = await this.dataKeys.listNotWrappedBy(kekId, batchSize);
      if (batch.length === 0) return count;
      let progressed = false;
      for (const stored of batch) {
        const context = dekContext(stored.patientId, stored.version);
        const dek = await this.keyProvider.unwrapKey(stored.wrapped, context);
        const rewrapped = await this.keyProvider.wrapKey(dek, context);
        dek.fill(0);
        if (await this.dataKeys.replaceWrapped(stored.patientId, stored.version, stored.wrapped, rewrapped)) {
          count++;
          progressed = true;
        }
      }
      // Rows changed under us (destroyed or rewrapped elsewhere) are skipped; the next listing no
      // longer returns them. If nothing moved, stop rather than spin.
      if (!progressed) return count;
    }
  }

  /**
   * HMAC-SHA-256 under a node secret (RFC 2104), for blind identifiers: record-version hashes in the
   * transparency log, blind search indexes. Ids and codes are low-entropy, so a bare hash could be
   * reversed by trying every value; without the node's secret this cannot. Stable across KEK rotation.
   * A string is hashed as its UTF-8 bytes. Callers hashing several fields encode them unambiguously
   * first (`encodeFields`).
   */
  keyedHash(value: string | Uint8Array): Uint8Array {
    const hmac = createHmac('sha256', this.hashKey);
    if (typeof value === 'string') {
      checkWellFormed(value);
      // Node's UTF-8 of a well-formed string is TextEncoder's, without its encoder and copy.
      hmac.update(value, 'utf8');
    } else hmac.update(value);
    return new Uint8Array(hmac.digest());
  }

  /**
   * `keyedHash` of a string as lowercase hex, the blind index's form. One call per index row (about
   * 24 per Synthea resource): hashing the string directly, without the TextEncoder and the two copies,
   * took a bulk import's hashing from about 5 to 2.5 µs a row (issue 16).
   */
  keyedHashHex(value: string): string {
    checkWellFormed(value);
    return createHmac('sha256', this.hashKey).update(value, 'utf8').digest('hex');
  }

  /** Drops every unwrapped key from memory. */
  clearCache(): void {
    this.cache.clear();
  }

  /** How many patients have keys in memory (for tests and metrics). */
  get cachedPatients(): number {
    return this.cache.size;
  }

  private async currentKey(patientId: string): Promise<DataKey> {
    const cached = this.touch(patientId);
    if (cached?.latest !== undefined) {
      const key = cached.keys.get(cached.latest);
      if (key !== undefined) {
        await this.checkNotErased(patientId);
        return { version: cached.latest, key };
      }
    }
    const epoch = this.destroyEpoch;
    let created: Uint8Array | undefined;
    const { key: stored, created: isNew } = await this.dataKeys.getOrCreate(patientId, async (version) => {
      created = this.random(AES_256_KEY_SIZE);
      return this.keyProvider.wrapKey(created, dekContext(patientId, version));
    });
    const key =
      isNew && created !== undefined
        ? created
        : await this.keyProvider.unwrapKey(stored.wrapped, dekContext(patientId, stored.version));
    this.remember(patientId, stored.version, key, true, epoch);
    return { version: stored.version, key };
  }

  private async keyAt(patientId: string, version: number): Promise<DataKey> {
    const key = this.touch(patientId)?.keys.get(version);
    if (key !== undefined) {
      await this.checkNotErased(patientId);
      return { version, key };
    }
    const epoch = this.destroyEpoch;
    const stored = await this.dataKeys.get(patientId, version);
    if (stored === undefined) {
      // The store throws `erased` itself; this covers a destroy that ran since.
      if ((await this.erasedAt(patientId)) !== undefined) throw createErasedError();
      throw createNoDataKeyError(version);
    }
    const unwrapped = await this.keyProvider.unwrapKey(stored.wrapped, dekContext(patientId, version));
    this.remember(patientId, version, unwrapped, false, epoch);
    return { version, key: unwrapped };
  }

  /**
   * A cached key skips the store, so erasure is checked here: a patient erased by another process
   * (the CLI, another instance) must become unreadable at once, not when the key leaves the cache.
   */
  private async checkNotErased(patientId: string): Promise<void> {
    if (patientId === NODE_KEY_PATIENT_ID) return;
    if ((await this.dataKeys.erasedAt(patientId)) !== undefined) {
      this.cache.delete(patientId);
      throw createErasedError();
    }
  }

  private touch(patientId: string): CachedPatient | undefined {
    const entry = this.cache.get(patientId);
    if (entry !== undefined) {
      // Map keeps insertion order: re-inserting marks the patient most recently used.
      this.cache.delete(patientId);
      this.cache.set(patientId, entry);
    }
    return entry;
  }

  private remember(
    patientId: string,
    version: number,
    key: Uint8Array,
    isLatest: boolean,
    epoch: number,
  ): void {
    if (epoch !== this.destroyEpoch) return;
    let entry = this.touch(patientId);
    if (entry === undefined) {
      entry = { latest: undefined, keys: new Map() };
      this.cache.set(patientId, entry);
      while (this.cache.size > this.cacheSize) {
        const oldest = this.cache.keys().next().value;
        if (oldest === undefined) break;
        this.cache.delete(oldest);
      }
    }
    entry.keys.set(version, key);
    if (isLatest && (entry.latest === undefined || version > entry.latest)) entry.latest = version;
  }
}

/**
 * What a data key's wrapping is bound to: the patient and the key version. Moving a wrapped key to
 * another patient (or version) makes it fail to unwrap.
 */
export function dekContext(patientId: string, version: number): string {
  return JSON.stringify([DEK_CONTEXT_LABEL, patientId, version]);
}
