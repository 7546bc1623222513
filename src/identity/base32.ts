import { CareLedgerError } from '../errors/index.js';

/** RFC 4648 §6, Table 3. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface Base32Options {
  /**
   * Pad with "=" to a multiple of 8 characters (RFC 4648 §6). Default true; the Key Uri Format for
   * authenticator apps wants it off.
   */
  readonly padding?: boolean;
}

export function encodeBase32(bytes: Uint8Array, options: Base32Options = {}): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >> bits) & 31];
    }
  }
  // RFC 4648 §6: a final partial quantum is completed with zero bits.
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  if (options.padding ?? true) out += '='.repeat((8 - (out.length % 8)) % 8);
  return out;
}

/**
 * Decodes RFC 4648 base32, with or without padding. Strict (§3.3, §3.5): upper case only, no
 * whitespace, no impossible lengths, and the unused bits of the last character must be zero, so
 * each byte string has exactly one accepted spelling.
 */
export function parseBase32(text: string): Uint8Array {
  const invalid = (reason: string) =>
    new CareLedgerError('ERR_INVALID_INPUT', `invalid base32: ${reason}`, { details: { reason } });
  if (typeof text !== 'string') throw invalid('not a string');
  const body = text.replace(/=+$/, '');
  if (body.length !== text.length && text.length !== Math.ceil(body.length / 8) * 8) {
    throw invalid('wrong padding');
  }
  // A last quantum of 1, 3 or 6 characters cannot come from whole bytes (RFC 4648 §6, cases 1-5).
  if ([1, 3, 6].includes(body.length % 8)) throw invalid('impossible length');
  const out = new Uint8Array(Math.floor((body.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let index = 0;
  for (const char of body) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) throw invalid('character outside the RFC 4648 §6 alphabet');
    buffer = ((buffer << 5) | value) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (buffer >> bits) & 0xff;
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) throw invalid('non-zero pad bits');
  return out;
}
