/**
 * Bitstring Status List v1.0 (W3C Recommendation, 2025): a credential's revocation or suspension is
 * one bit at its `statusListIndex` in a published bitstring. The bitstring travels GZIP-compressed
 * and multibase-encoded as base64url without padding with the 'u' prefix (§2.1 `encodedList`).
 * Bit 0 is the left-most (most significant) bit of the first byte (§3.1 "the left-most bit ... is
 * at position 0"). Only statusSize 1 is supported: one bit per credential.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { CareLedgerError } from '../errors/index.js';

/** §6.1: the uncompressed bitstring is at least 16 KB (131,072 entries) for herd privacy. */
export const MIN_STATUS_LIST_BITS = 131_072;
/** A decoded list may not exceed this (2^27 bits, 16 MiB): a tiny GZIP stream must not fill memory. */
export const MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function malformed(message: string, cause?: unknown): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', message, {
    details: { reason: 'malformed' },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A new all-zero bitstring of `bits` entries (at least the spec's 131,072; whole bytes). */
export function createStatusBitstring(bits: number = MIN_STATUS_LIST_BITS): Uint8Array {
  if (!Number.isSafeInteger(bits) || bits < MIN_STATUS_LIST_BITS || bits % 8 !== 0) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `a status list holds a whole number of bytes and at least ${MIN_STATUS_LIST_BITS} bits`,
    );
  }
  if (bits / 8 > MAX_STATUS_LIST_BYTES) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `a status list holds at most ${MAX_STATUS_LIST_BYTES * 8} bits`,
    );
  }
  return new Uint8Array(bits / 8);
}

function checkIndex(bitstring: Uint8Array, index: number): void {
  if (!Number.isSafeInteger(index) || index < 0 || index >= bitstring.length * 8) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'status list index out of range', {
      details: { reason: 'malformed', index, size: bitstring.length * 8 },
    });
  }
}

export function getStatusBit(bitstring: Uint8Array, index: number): boolean {
  checkIndex(bitstring, index);
  // biome-ignore lint/style/noNonNullAssertion: index checked above
  return (bitstring[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}

/** Sets (or clears) the bit in place. */
export function setStatusBit(bitstring: Uint8Array, index: number, value = true): void {
  checkIndex(bitstring, index);
  const mask = 0x80 >> (index & 7);
  // biome-ignore lint/style/noNonNullAssertion: index checked above
  bitstring[index >> 3] = value ? bitstring[index >> 3]! | mask : bitstring[index >> 3]! & ~mask;
}

/** The `encodedList` value: 'u' + base64url(no padding) of the GZIP-compressed bitstring. */
export function encodeStatusList(bitstring: Uint8Array): string {
  if (bitstring.length * 8 < MIN_STATUS_LIST_BITS) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `a status list holds at least ${MIN_STATUS_LIST_BITS} bits`,
    );
  }
  return `u${gzipSync(bitstring).toString('base64url')}`;
}

/** Decodes an `encodedList`; refuses anything but multibase base64url GZIP of at least 16 KB. */
export function decodeStatusList(encodedList: string): Uint8Array {
  if (typeof encodedList !== 'string' || !encodedList.startsWith('u')) {
    throw malformed("a status list's encodedList must be multibase base64url (prefix 'u')");
  }
  const text = encodedList.slice(1);
  if (!BASE64URL.test(text) || text.length % 4 === 1) {
    throw malformed("a status list's encodedList is not base64url");
  }
  const compressed = Buffer.from(text, 'base64url');
  let bitstring: Buffer;
  try {
    bitstring = gunzipSync(compressed, { maxOutputLength: MAX_STATUS_LIST_BYTES });
  } catch (cause) {
    throw malformed("a status list's encodedList is not GZIP data within the size limit", cause);
  }
  if (bitstring.length * 8 < MIN_STATUS_LIST_BITS) {
    throw malformed(`a status list holds at least ${MIN_STATUS_LIST_BITS} bits`);
  }
  return new Uint8Array(bitstring.buffer, bitstring.byteOffset, bitstring.length);
}
