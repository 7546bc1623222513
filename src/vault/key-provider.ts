/**
 * What the vault needs from whoever holds the node's key-encryption key (KEK). The default is a
 * passphrase-protected local keystore file (`local-keystore-key-provider.ts`); a KMS or HSM can
 * implement the same interface without the KEK ever leaving it.
 */

/** AES-256-GCM used as a key wrap (a nonce-based AEAD, not RFC 3394 AES-KW), as JWE's `A256GCMKW`. */
export const KEY_WRAP_ALGORITHM = 'A256GCMKW';

/** A data key encrypted under a KEK. Safe to store anywhere; useless without the KEK and the context. */
export interface WrappedKey {
  /** Which KEK wrapped it, so old KEKs can still unwrap after a rotation. */
  readonly kekId: string;
  readonly algorithm: typeof KEY_WRAP_ALGORITHM;
  /** 12 random bytes. */
  readonly nonce: Uint8Array;
  /** The wrapped key followed by the 16-byte tag. */
  readonly ciphertext: Uint8Array;
}

export interface KeyProvider {
  /** The id of the current KEK: the one `wrapKey` uses. */
  readonly keyId: string;
  /**
   * Wraps a data key. `context` is bound as associated data (with the KEK id), so a wrapped key only
   * unwraps under the same context: one patient's wrapped key copied to another patient fails.
   */
  wrapKey(dek: Uint8Array, context: string): Promise<WrappedKey>;
  /** Unwraps with the KEK the wrapped key names; throws (reason `unwrap-failed`) on any mismatch. */
  unwrapKey(wrapped: WrappedKey, context: string): Promise<Uint8Array>;
  /**
   * A 32-byte secret for one named purpose (e.g. the keyed hash of blind identifiers), derived from
   * a node secret that does not change when the KEK rotates: hashes published on the ledger or kept
   * in indexes must stay comparable across rotations.
   */
  deriveSecret(purpose: string): Promise<Uint8Array>;
}
