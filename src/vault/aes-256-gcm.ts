import { createCipheriv, createDecipheriv } from 'node:crypto';

/** 96-bit nonces: the size GCM processes directly (NIST SP 800-38D §8.2.2, §5.2.1.1). */
export const GCM_NONCE_SIZE = 12;
/** Full 128-bit tags only; shorter tags weaken forgery bounds (SP 800-38D Appendix C). */
export const GCM_TAG_SIZE = 16;
export const AES_256_KEY_SIZE = 32;

/**
 * AES-256-GCM encryption returning `ciphertext || tag`. Nonces are the caller's to choose; every
 * caller here draws 96 random bits per message, which keeps the collision probability under 2^-32
 * for up to 2^32 messages per key (SP 800-38D §8.3).
 */
export function sealAes256Gcm(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array {
  checkSizes(key, nonce);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_SIZE });
  cipher.setAAD(associatedData);
  const head = cipher.update(plaintext);
  const tail = cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(head.length + tail.length + tag.length);
  out.set(head, 0);
  out.set(tail, head.length);
  out.set(tag, head.length + tail.length);
  return out;
}

/**
 * Opens `ciphertext || tag`. Throws a plain Error on any mismatch; callers replace it with their own
 * vague error. The tag is checked by OpenSSL before `final()` returns, so no unauthenticated
 * plaintext is returned (it is discarded with the thrown error).
 */
export function openAes256Gcm(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array {
  checkSizes(key, nonce);
  if (sealed.length < GCM_TAG_SIZE) throw new Error('ciphertext shorter than the tag');
  const split = sealed.length - GCM_TAG_SIZE;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_SIZE });
  decipher.setAAD(associatedData);
  decipher.setAuthTag(sealed.subarray(split));
  const head = decipher.update(sealed.subarray(0, split));
  const tail = decipher.final();
  if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head, 0);
  out.set(tail, head.length);
  return out;
}

function checkSizes(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AES_256_KEY_SIZE) throw new Error('AES-256-GCM needs a 32-byte key');
  if (nonce.length !== GCM_NONCE_SIZE) throw new Error('AES-256-GCM needs a 12-byte nonce');
}
