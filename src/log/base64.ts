/** Standard padded base64 (RFC 4648 §4), decoded strictly: Buffer's decoder skips bad characters. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Returns undefined unless `text` is canonical padded standard base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  // Reject non-zero padding bits, so every byte string has exactly one accepted encoding.
  return encodeBase64(bytes) === text ? bytes : undefined;
}

/** Decimal with no leading zeros (unless it is "0"), as a safe integer; undefined otherwise. */
export function parseDecimal(text: string): number | undefined {
  if (!/^(?:0|[1-9][0-9]*)$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}
