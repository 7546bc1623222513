import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  createStatusBitstring,
  decodeStatusList,
  encodeStatusList,
  getStatusBit,
  MIN_STATUS_LIST_BITS,
  setStatusBit,
} from './bitstring-status-list.js';

describe('Bitstring Status List', () => {
  it('holds at least 131,072 bits (16 KB), all clear', () => {
    const bits = createStatusBitstring();
    expect(bits.length).toBe(16_384);
    expect(MIN_STATUS_LIST_BITS).toBe(131_072);
    expect(getStatusBit(bits, 0)).toBe(false);
    expect(getStatusBit(bits, 131_071)).toBe(false);
    expect(() => createStatusBitstring(1024)).toThrow(/at least 131072/);
  });

  it('numbers bits from the left-most bit of the first byte (hand-derived vector)', () => {
    // Spec §3.1: index 0 is the left-most (most significant) bit of byte 0. So
    //   index 0 -> byte 0 mask 0b1000_0000 (0x80)
    //   index 7 -> byte 0 mask 0b0000_0001 (0x01)   => byte 0 = 0x81
    //   index 9 -> byte 1 mask 0b0100_0000 (0x40)   => byte 1 = 0x40
    //   index 131071 (last) -> byte 16383 mask 0x01
    const bits = createStatusBitstring();
    for (const i of [0, 7, 9, 131_071]) setStatusBit(bits, i);
    expect(bits[0]).toBe(0x81);
    expect(bits[1]).toBe(0x40);
    expect(bits[16_383]).toBe(0x01);
    expect(bits.slice(2, 16_383).every((b) => b === 0)).toBe(true);
    expect([0, 1, 7, 8, 9, 131_071].map((i) => getStatusBit(bits, i))).toEqual([
      true,
      false,
      true,
      false,
      true,
      true,
    ]);
    setStatusBit(bits, 7, false);
    expect(bits[0]).toBe(0x80);
  });

  it('encodes as multibase base64url GZIP and decodes back to the same bits', () => {
    const bits = createStatusBitstring(MIN_STATUS_LIST_BITS * 2);
    for (const i of [3, 42, 94_567, 262_143]) setStatusBit(bits, i);
    const encoded = encodeStatusList(bits);
    expect(encoded.startsWith('u')).toBe(true);
    expect(encoded.slice(1)).toMatch(/^[A-Za-z0-9_-]+$/);
    // The GZIP magic number 1f 8b after the 'u'.
    expect([...Buffer.from(encoded.slice(1, 5), 'base64url').subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    const decoded = decodeStatusList(encoded);
    expect(Buffer.from(decoded).equals(Buffer.from(bits))).toBe(true);
    expect([3, 4, 42, 94_567, 262_143].map((i) => getStatusBit(decoded, i))).toEqual([
      true,
      false,
      true,
      true,
      true,
    ]);
  });

  it('refuses a list without the multibase prefix, not base64url, not GZIP, or too short', () => {
    const good = encodeStatusList(createStatusBitstring());
    const reason = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (
          (error as { code: string; details: { reason: string } }).code +
          ':' +
          (error as { details: { reason: string } }).details.reason
        );
      }
      return 'accepted';
    };
    expect(reason(() => decodeStatusList(good.slice(1)))).toBe('ERR_INVALID_INPUT:malformed');
    expect(reason(() => decodeStatusList(`z${good.slice(1)}`))).toBe('ERR_INVALID_INPUT:malformed');
    expect(reason(() => decodeStatusList(`${good}+/`))).toBe('ERR_INVALID_INPUT:malformed');
    expect(reason(() => decodeStatusList(`u${Buffer.from('not gzip').toString('base64url')}`))).toBe(
      'ERR_INVALID_INPUT:malformed',
    );
    expect(reason(() => decodeStatusList(`u${gzipSync(new Uint8Array(1024)).toString('base64url')}`))).toBe(
      'ERR_INVALID_INPUT:malformed',
    );
    // A small GZIP stream that inflates past the cap is refused, not inflated.
    expect(
      reason(() => decodeStatusList(`u${gzipSync(new Uint8Array(17 * 1024 * 1024)).toString('base64url')}`)),
    ).toBe('ERR_INVALID_INPUT:malformed');
  });

  it('refuses an index outside the list', () => {
    const bits = createStatusBitstring();
    expect(() => getStatusBit(bits, 131_072)).toThrow(/out of range/);
    expect(() => setStatusBit(bits, -1)).toThrow(/out of range/);
    expect(() => getStatusBit(bits, 1.5)).toThrow(/out of range/);
  });
});
