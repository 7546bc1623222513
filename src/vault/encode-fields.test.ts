import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { encodeFields } from './encode-fields.js';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('encodeFields', () => {
  test('length-prefixes each field (32-bit big-endian UTF-8 length)', () => {
    expect(Buffer.from(encodeFields(['ab', '', 'é'])).toString('hex')).toBe(
      '000000026162' + '00000000' + '00000002c3a9',
    );
  });

  test('splitting the same characters differently encodes differently', () => {
    expect(same(encodeFields(['ab', 'c']), encodeFields(['a', 'bc']))).toBe(false);
    expect(same(encodeFields(['a|b']), encodeFields(['a', 'b']))).toBe(false);
    expect(same(encodeFields(['']), encodeFields([]))).toBe(false);
  });

  test('refuses lone surrogates, which UTF-8 encoding would silently replace', () => {
    expect(() => encodeFields(['\uD800'])).toThrow(TypeError);
    expect(() => encodeFields(['a\uDC00'])).toThrow(TypeError);
    expect(() => encodeFields(['😀'])).not.toThrow();
  });

  test('property: different field lists never encode alike', () => {
    const fields = fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 5 });
    fc.assert(
      fc.property(fields, fields, (a, b) => {
        fc.pre(JSON.stringify(a) !== JSON.stringify(b));
        return !same(encodeFields(a), encodeFields(b));
      }),
    );
  });
});
