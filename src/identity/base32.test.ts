import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/reason-of.js';
import { encodeBase32, parseBase32 } from './base32.js';

// RFC 4648 §10, "Test Vectors", BASE32 rows.
const RFC4648_VECTORS: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  ['f', 'MY======'],
  ['fo', 'MZXQ===='],
  ['foo', 'MZXW6==='],
  ['foob', 'MZXW6YQ='],
  ['fooba', 'MZXW6YTB'],
  ['foobar', 'MZXW6YTBOI======'],
];

const ascii = (text: string) => new Uint8Array(Buffer.from(text, 'ascii'));

describe('base32 (RFC 4648 §6)', () => {
  it.each(RFC4648_VECTORS)('BASE32("%s") = "%s" (RFC 4648 §10)', (input, output) => {
    expect(encodeBase32(ascii(input))).toBe(output);
    expect(parseBase32(output)).toEqual(ascii(input));
  });

  it.each(RFC4648_VECTORS)('accepts "%s" without padding', (input, output) => {
    const unpadded = output.replace(/=+$/, '');
    expect(encodeBase32(ascii(input), { padding: false })).toBe(unpadded);
    expect(parseBase32(unpadded)).toEqual(ascii(input));
  });

  it('round-trips any bytes, padded or not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (bytes, padding) => {
        expect(parseBase32(encodeBase32(bytes, { padding }))).toEqual(bytes);
      }),
    );
  });

  it.each([
    ['lower case', 'mzxw6==='],
    ['a character outside the alphabet', 'MZXW1==='],
    ['whitespace', 'MZXW 6==='],
    ['padding too short', 'MY='],
    ['padding too long', 'MY==============='],
    ['padding alone', '========'],
    ['an impossible length', 'MZXW6Y'],
    ['non-zero pad bits', 'MZ======'],
  ])('rejects %s with ERR_INVALID_INPUT', (_, text) => {
    expect(errorOf(() => parseBase32(text))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});
