import { Secret } from 'otpauth';
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
  // otpauth encodes (RFC 4648 §6, a final partial quantum completed with zero bits), unpadded.
  const out = bytes.length === 0 ? '' : new Secret({ buffer: bytes.slice().buffer as ArrayBuffer }).base32;
  if (options.padding ?? true) return out + '='.repeat((8 - (out.length % 8)) % 8);
  return out;
}

/**
 * Decodes RFC 4648 base32, with or without padding. Strict (§3.3, §3.5): upper case only, no
 * whitespace, no impossible lengths, and the unused bits of the last character must be zero, so
 * each byte string has exactly one accepted spelling. The checks are ours (otpauth's decoder is
 * lenient: it folds case and drops spaces); the decoding is otpauth's.
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
  if (!/^[A-Z2-7]*$/.test(body)) throw invalid('character outside the RFC 4648 §6 alphabet');
  // The last character carries (5 · length) mod 8 bits that are not part of any byte: they must be 0.
  const unusedBits = (body.length * 5) % 8;
  const last = body.length === 0 ? 0 : ALPHABET.indexOf(body[body.length - 1] as string);
  if ((last & ((1 << unusedBits) - 1)) !== 0) throw invalid('non-zero pad bits');
  return body.length === 0 ? new Uint8Array(0) : Secret.fromBase32(body).bytes;
}
