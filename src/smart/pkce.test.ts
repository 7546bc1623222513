import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { reasonOf } from '../../test/support/reason-of.js';
import { createPkceChallenge, parsePkceChallenge, verifyPkce } from './pkce.js';

const vector = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../test/vectors/rfc7636/appendix-b.json'), 'utf8'),
) as { codeVerifier: string; codeChallenge: string; codeChallengeMethod: string };

const UNRESERVED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
const verifierArb = fc
  .array(fc.constantFrom(...UNRESERVED), { minLength: 43, maxLength: 128 })
  .map((chars) => chars.join(''));

describe('PKCE', () => {
  test('RFC 7636 Appendix B', () => {
    expect(vector.codeVerifier).toBe('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');
    expect(createPkceChallenge(vector.codeVerifier)).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    expect(createPkceChallenge(vector.codeVerifier)).toBe(vector.codeChallenge);
    expect(
      reasonOf(() => verifyPkce(vector.codeVerifier, vector.codeChallenge, vector.codeChallengeMethod)),
    ).toBe('ok');
  });

  test('any valid verifier verifies against its own challenge only', () => {
    fc.assert(
      fc.property(verifierArb, verifierArb, (verifier, other) => {
        const challenge = createPkceChallenge(verifier);
        expect(reasonOf(() => verifyPkce(verifier, challenge, 'S256'))).toBe('ok');
        if (other !== verifier) {
          expect(reasonOf(() => verifyPkce(other, challenge, 'S256'))).toBe(
            'ERR_INVALID_INPUT:pkce-mismatch',
          );
        }
      }),
    );
  });

  test('plain is refused (SMART App Launch 2.x), even when verifier equals challenge', () => {
    const verifier = vector.codeVerifier;
    expect(reasonOf(() => verifyPkce(verifier, verifier, 'plain'))).toBe(
      'ERR_INVALID_INPUT:unsupported-method',
    );
    expect(reasonOf(() => verifyPkce(verifier, vector.codeChallenge, 's256'))).toBe(
      'ERR_INVALID_INPUT:unsupported-method',
    );
  });

  test.each([
    ['42 characters', 'a'.repeat(42)],
    ['129 characters', 'a'.repeat(129)],
    ['a character outside the unreserved set', `${'a'.repeat(42)}+`],
    ['a space', `${'a'.repeat(42)} `],
    ['not a string', 42],
  ])('a verifier with %s is refused', (_name, verifier) => {
    expect(reasonOf(() => verifyPkce(verifier, vector.codeChallenge, 'S256'))).toBe(
      'ERR_INVALID_INPUT:invalid-verifier',
    );
  });

  test('verifiers of 43 and 128 characters are accepted', () => {
    for (const verifier of ['a'.repeat(43), '~'.repeat(128)]) {
      expect(reasonOf(() => verifyPkce(verifier, createPkceChallenge(verifier), 'S256'))).toBe('ok');
    }
  });

  test.each([
    ['padding', `${vector.codeChallenge}=`],
    ['a standard base64 character', vector.codeChallenge.replace('-', '+')],
    ['the wrong length', vector.codeChallenge.slice(1)],
    ['non-zero trailing bits', `${vector.codeChallenge.slice(0, -1)}N`],
  ])('a challenge with %s is refused', (_name, challenge) => {
    expect(reasonOf(() => verifyPkce(vector.codeVerifier, challenge, 'S256'))).toBe(
      'ERR_INVALID_INPUT:invalid-challenge',
    );
  });

  test('parsePkceChallenge checks an authorization request', () => {
    expect(parsePkceChallenge(vector.codeChallenge, 'S256')).toEqual({
      challenge: vector.codeChallenge,
      method: 'S256',
    });
    // SMART requires PKCE, so an absent method does not default to plain (RFC 7636 §4.3).
    expect(reasonOf(() => parsePkceChallenge(vector.codeChallenge, undefined))).toBe(
      'ERR_INVALID_INPUT:unsupported-method',
    );
    expect(reasonOf(() => parsePkceChallenge(undefined, 'S256'))).toBe('ERR_INVALID_INPUT:invalid-challenge');
  });
});
