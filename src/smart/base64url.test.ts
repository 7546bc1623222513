import fc from 'fast-check';
import { expect, test } from 'vitest';
import { decodeBase64url, encodeBase64url } from './base64url.js';

test('round-trips bytes without padding', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      const text = encodeBase64url(bytes);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(decodeBase64url(text)).toEqual(Buffer.from(bytes));
    }),
  );
});

test('RFC 4648 §10 vectors, in the base64url alphabet without padding', () => {
  expect(['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'].map((s) => encodeBase64url(s))).toEqual([
    '',
    'Zg',
    'Zm8',
    'Zm9v',
    'Zm9vYg',
    'Zm9vYmE',
    'Zm9vYmFy',
  ]);
  expect(encodeBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
});

test.each([
  ['padding', 'Zg=='],
  ['standard alphabet', '+/8'],
  ['a length of 1 mod 4', 'Zm9vY'],
  ['non-zero trailing bits', 'Zh'],
  ['whitespace', 'Zm9v Yg'],
])('rejects %s', (_name, text) => {
  expect(decodeBase64url(text)).toBeUndefined();
});
