/**
 * base64url without padding (RFC 7515 §2, RFC 4648 §5), decoded strictly: Buffer's own decoder skips
 * characters outside the alphabet and accepts padding, which would let two different strings name the
 * same bytes.
 */
const BASE64URL = /^[A-Za-z0-9_-]*$/;

export function encodeBase64url(data: Uint8Array | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64url');
}

/** Returns undefined unless `text` is canonical unpadded base64url. */
export function decodeBase64url(text: string): Buffer | undefined {
  // A length of 1 mod 4 cannot come from whole bytes (RFC 4648 §5).
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  // Reject non-zero trailing bits, so every byte string has exactly one accepted encoding.
  return bytes.toString('base64url') === text ? bytes : undefined;
}
