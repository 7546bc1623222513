const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Canonical, unambiguous encoding of a list of strings for associated data: each field is its UTF-8
 * length as a 32-bit big-endian integer followed by its bytes. Unlike concatenation with a separator,
 * no two different lists encode alike (("ab","c") and ("a","bc") differ), whatever the fields contain.
 */
export function encodeFields(fields: readonly string[]): Uint8Array {
  for (const field of fields) checkWellFormed(field);
  const encoder = new TextEncoder();
  const parts = fields.map((field) => encoder.encode(field));
  const total = parts.reduce((sum, part) => sum + 4 + part.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of parts) {
    view.setUint32(offset, part.length, false);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/** TextEncoder turns a lone surrogate into U+FFFD, so two different strings would encode alike. */
export function checkWellFormed(value: string): void {
  if (LONE_SURROGATE.test(value)) throw new TypeError('string is not well-formed UTF-16 (lone surrogate)');
}
