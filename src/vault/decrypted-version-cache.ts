/**
 * The plaintext of the record versions opened most recently, one version per resource (issue 16
 * item 2). Decryption is a pure function of the version's identity (resource type, id, version,
 * patient: the associated data) and its sealed bytes, so an entry is used only when all of them are
 * the same as when it was decrypted: an update or a delete makes a new version (a miss, and the entry
 * is replaced), a tampered row differs in its bytes (a miss, so decryption fails as it must). Erasure
 * does not change the row, so the caller asks the key store whether the patient was erased before
 * using an entry, exactly as a cached data key is used (VaultCrypto.checkNotErased), which holds for
 * an erasure made by another process too. Plaintext is kept as the JSON text and parsed for each
 * caller, so no caller can change what another receives. docs/decisions/0017-hot-path-caches.md.
 */
import { LruCache } from '../cache/index.js';
import type { SealedRecord } from './record-cipher.js';
import type { StoredVersion } from './record-storage.js';

export interface DecryptedVersionCacheOptions {
  /** Most resources kept (default 10,000). */
  readonly maxEntries?: number;
  /** Bound of the bytes held, plaintext and sealed copy (default 32 MiB). */
  readonly maxBytes?: number;
}

interface Opened {
  readonly versionId: number;
  readonly patientId: string;
  readonly format: SealedRecord['format'];
  readonly keyVersion: number;
  /** Copies of the row's nonce and ciphertext, as Buffers so each hit compares without a wrapper. */
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
  readonly text: string;
}

export class DecryptedVersionCache {
  private readonly cache: LruCache<Opened>;

  constructor(options: DecryptedVersionCacheOptions = {}) {
    this.cache = new LruCache<Opened>({
      maxEntries: options.maxEntries ?? 10_000,
      maxBytes: options.maxBytes ?? 32 * 1024 * 1024,
      sizeOf: (value, key) => value.text.length * 2 + value.ciphertext.length + key.length * 2 + 200,
    });
  }

  /** The text of this very version if it was opened before, else undefined. */
  get(version: StoredVersion): string | undefined {
    const opened = this.cache.get(keyOf(version));
    if (opened === undefined || version.sealed === null) return undefined;
    return opened.versionId === version.versionId &&
      opened.patientId === version.patientId &&
      isSameSealed(opened, version.sealed)
      ? opened.text
      : undefined;
  }

  set(version: StoredVersion, text: string): void {
    if (version.sealed === null) return;
    this.cache.set(keyOf(version), {
      versionId: version.versionId,
      patientId: version.patientId,
      format: version.sealed.format,
      keyVersion: version.sealed.keyVersion,
      // Copies: the entry must not follow a change made to the row's buffers afterwards.
      nonce: copyOf(version.sealed.nonce),
      ciphertext: copyOf(version.sealed.ciphertext),
      text,
    });
  }

  /** Forgets a patient's records (their keys were destroyed in this process). */
  forgetPatient(patientId: string): void {
    this.cache.deleteWhere((_key, value) => value.patientId === patientId);
  }

  get size(): number {
    return this.cache.size;
  }
}

function keyOf(version: StoredVersion): string {
  return `${version.resourceType}/${version.id}`;
}

/** A copy outside Node's shared pool, so an entry holds only its own bytes (the byte bound holds). */
function copyOf(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
}

function isSameSealed(a: Opened, b: SealedRecord): boolean {
  return (
    a.format === b.format &&
    a.keyVersion === b.keyVersion &&
    a.nonce.equals(b.nonce) &&
    a.ciphertext.equals(b.ciphertext)
  );
}
