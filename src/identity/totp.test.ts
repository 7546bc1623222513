import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/reason-of.js';
import { encodeBase32, parseBase32 } from './base32.js';
import { createTotpSecret, createTotpUri, evaluateTotp, generateTotp, type TotpAlgorithm } from './totp.js';

// RFC 6238 Appendix B; see the SOURCE.md beside the file.
const FILE = join(import.meta.dirname, '../../test/vectors/rfc6238/totp-vectors.json');

interface Vector {
  time: number;
  utc: string;
  t: string;
  totp: string;
  mode: TotpAlgorithm;
}

const rfc6238 = JSON.parse(readFileSync(FILE, 'utf8')) as {
  digits: 8;
  period: number;
  seeds: Record<TotpAlgorithm, string>;
  vectors: Vector[];
};
const seed = (mode: TotpAlgorithm) => new Uint8Array(Buffer.from(rfc6238.seeds[mode], 'ascii'));
const SECRET = seed('SHA1');

describe('RFC 6238 Appendix B vectors', () => {
  it('holds all 18 rows: six times, three hashes, 20/32/64-byte seeds', () => {
    expect(rfc6238.vectors).toHaveLength(18);
    expect(new Set(rfc6238.vectors.map((v) => v.time)).size).toBe(6);
    expect(rfc6238.vectors.filter((v) => v.mode === 'SHA1')).toHaveLength(6);
    expect([seed('SHA1').length, seed('SHA256').length, seed('SHA512').length]).toEqual([20, 32, 64]);
    expect(rfc6238.period).toBe(30);
  });

  it.each(rfc6238.vectors.map((v) => [`${v.mode} at ${v.time} (${v.utc})`, v] as const))(
    'generates %s',
    (_, v) => {
      expect(generateTotp(seed(v.mode), v.time * 1000, { algorithm: v.mode, digits: rfc6238.digits })).toBe(
        v.totp,
      );
    },
  );

  it.each(rfc6238.vectors.map((v) => [`${v.mode} at ${v.time}`, v] as const))(
    'verifies %s and reports step T',
    (_, v) => {
      const options = { algorithm: v.mode, digits: rfc6238.digits, window: 0 };
      expect(evaluateTotp(v.totp, seed(v.mode), v.time * 1000, options)).toEqual({
        valid: true,
        step: Number.parseInt(v.t, 16),
      });
    },
  );

  it('takes the secret as base32 text too', () => {
    const v = rfc6238.vectors[0] as Vector;
    expect(generateTotp(encodeBase32(SECRET), v.time * 1000, { digits: 8 })).toBe(v.totp);
    expect(generateTotp(encodeBase32(SECRET, { padding: false }), v.time * 1000, { digits: 8 })).toBe(v.totp);
  });
});

describe('generateTotp', () => {
  it('gives the RFC 4226 Appendix D HOTP values for steps 0 to 9 (6 digits, SHA-1)', () => {
    // RFC 4226 Appendix D, secret "12345678901234567890", counts 0..9; TOTP step T is HOTP's count.
    const hotp = [
      '755224',
      '287082',
      '359152',
      '969429',
      '338314',
      '254676',
      '287922',
      '162583',
      '399871',
      '520489',
    ];
    hotp.forEach((code, count) => {
      expect(generateTotp(SECRET, count * 30_000)).toBe(code);
      expect(generateTotp(SECRET, count * 30_000 + 29_999)).toBe(code);
    });
  });

  it('rejects short secrets, bad times and bad options', () => {
    const cases: Array<() => unknown> = [
      () => generateTotp(new Uint8Array(15), 0),
      () => generateTotp('MZXW6YTBOI', 0),
      () => generateTotp('not base32!', 0),
      () => generateTotp(SECRET, -1),
      () => generateTotp(SECRET, 1.5),
      () => generateTotp(SECRET, Number.NaN),
      () => generateTotp(SECRET, 0, { digits: 7 as 6 }),
      () => generateTotp(SECRET, 0, { algorithm: 'MD5' as TotpAlgorithm }),
    ];
    for (const fn of cases) expect(errorOf(fn)).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});

describe('evaluateTotp', () => {
  const now = 1_700_000_000_000;
  const step = Math.floor(now / 30_000);

  it('accepts the current code and returns its step', () => {
    expect(evaluateTotp(generateTotp(SECRET, now), SECRET, now)).toEqual({ valid: true, step });
  });

  it('accepts one step either side by default, more with a wider window', () => {
    const previous = generateTotp(SECRET, now - 30_000);
    const next = generateTotp(SECRET, now + 30_000);
    const older = generateTotp(SECRET, now - 60_000);
    expect(evaluateTotp(previous, SECRET, now)).toEqual({ valid: true, step: step - 1 });
    expect(evaluateTotp(next, SECRET, now)).toEqual({ valid: true, step: step + 1 });
    expect(evaluateTotp(older, SECRET, now)).toEqual({ valid: false });
    expect(evaluateTotp(older, SECRET, now, { window: 2 })).toEqual({ valid: true, step: step - 2 });
    expect(evaluateTotp(previous, SECRET, now, { window: 0 })).toEqual({ valid: false });
  });

  it('refuses a replay of the last used step or an earlier one (RFC 6238 §5.2)', () => {
    const code = generateTotp(SECRET, now);
    const first = evaluateTotp(code, SECRET, now);
    expect(first).toEqual({ valid: true, step });
    expect(evaluateTotp(code, SECRET, now + 5_000, { lastUsedStep: step })).toEqual({ valid: false });
    expect(evaluateTotp(code, SECRET, now, { lastUsedStep: step + 1 })).toEqual({ valid: false });
    expect(evaluateTotp(code, SECRET, now, { lastUsedStep: step - 1 })).toEqual({ valid: true, step });
    const previous = generateTotp(SECRET, now - 30_000);
    expect(evaluateTotp(previous, SECRET, now, { lastUsedStep: step - 1 })).toEqual({ valid: false });
  });

  it('treats malformed codes as not valid, without throwing', () => {
    const code = generateTotp(SECRET, now);
    for (const typed of ['', code.slice(1), `${code}0`, ` ${code}`, `${code.slice(0, 5)}a`, '１２３４５６']) {
      expect(evaluateTotp(typed, SECRET, now)).toEqual({ valid: false });
    }
    expect(evaluateTotp(code, SECRET, now, { digits: 8 })).toEqual({ valid: false });
  });

  it('rejects a bad window or lastUsedStep', () => {
    const code = generateTotp(SECRET, now);
    for (const options of [{ window: -1 }, { window: 11 }, { window: 0.5 }, { lastUsedStep: 1.5 }]) {
      expect(errorOf(() => evaluateTotp(code, SECRET, now, options))).toMatchObject({
        code: 'ERR_INVALID_INPUT',
      });
    }
  });

  it('verifies what it generates, for any secret, time and mode', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.constantFrom<TotpAlgorithm>('SHA1', 'SHA256', 'SHA512'),
        fc.constantFrom<6 | 8>(6, 8),
        (secret, at, algorithm, digits) => {
          const code = generateTotp(secret, at, { algorithm, digits });
          expect(code).toMatch(digits === 6 ? /^[0-9]{6}$/ : /^[0-9]{8}$/);
          // Window 0: with a wider one a neighbouring step may share the code by chance (1 in 10^6).
          expect(evaluateTotp(code, secret, at, { algorithm, digits, window: 0 })).toEqual({
            valid: true,
            step: Math.floor(at / 30_000),
          });
        },
      ),
    );
  });
});

describe('createTotpSecret', () => {
  it('makes 20 random bytes as 32 base32 characters', () => {
    const secret = createTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(parseBase32(secret)).toHaveLength(20);
    expect(createTotpSecret()).not.toBe(secret);
  });

  it('uses the injected randomness', () => {
    expect(createTotpSecret((size) => new Uint8Array(size).fill(0xff))).toBe('7'.repeat(32));
  });
});

describe('createTotpUri', () => {
  const secret = encodeBase32(SECRET, { padding: false });

  it('follows the Key Uri Format', () => {
    expect(createTotpUri({ secret, issuer: 'CareLedger', account: 'alice@example.org' })).toBe(
      `otpauth://totp/CareLedger:alice@example.org?secret=${secret}&issuer=CareLedger`,
    );
    expect(secret).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });

  it('percent-encodes names (spaces as %20) and spells out non-default parameters', () => {
    const uri = createTotpUri({
      secret: SECRET,
      issuer: 'Care Ledger & Co',
      account: 'Dr. Bob',
      algorithm: 'SHA256',
      digits: 8,
    });
    expect(uri).toBe(
      `otpauth://totp/Care%20Ledger%20%26%20Co:Dr.%20Bob?secret=${secret}` +
        '&issuer=Care%20Ledger%20%26%20Co&algorithm=SHA256&digits=8',
    );
    const parsed = new URL(uri);
    expect(parsed.protocol).toBe('otpauth:');
    expect(parsed.searchParams.get('secret')).toBe(secret);
  });

  it('drops the padding of a padded secret', () => {
    const padded = encodeBase32(new Uint8Array(16).fill(1));
    expect(padded.endsWith('======')).toBe(true);
    expect(createTotpUri({ secret: padded, issuer: 'CareLedger', account: 'a' })).toContain(
      `secret=${padded.replace(/=+$/, '')}&`,
    );
  });

  it('rejects colons in names, empty names and bad secrets', () => {
    const cases = [
      { secret, issuer: 'Care:Ledger', account: 'alice' },
      { secret, issuer: 'CareLedger', account: 'alice:bob' },
      { secret, issuer: '', account: 'alice' },
      { secret, issuer: 'CareLedger', account: '' },
      { secret: 'JBSWY3DPEHPK3PXP', issuer: 'CareLedger', account: 'alice' },
      { secret: 'not base32', issuer: 'CareLedger', account: 'alice' },
    ];
    for (const input of cases) {
      expect(errorOf(() => createTotpUri(input))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    }
  });
});
