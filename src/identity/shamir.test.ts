import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/reason-of.js';
import {
  combineShares,
  formatShare,
  gfInverse,
  gfMultiply,
  gfMultiplyByTables,
  parseShare,
  type Share,
  splitSecret,
} from './shamir.js';

/** Deterministic "randomness" for tests: the given bytes, which must be exactly what is asked for. */
const fixed =
  (...bytes: number[]) =>
  (size: number) => {
    if (size !== bytes.length) throw new Error(`asked for ${size} random bytes, have ${bytes.length}`);
    return Uint8Array.from(bytes);
  };

describe('GF(2^8) with the AES polynomial', () => {
  it('matches the FIPS-197 worked examples', () => {
    // FIPS-197 §4.2: {57} • {83} = {c1}.
    expect(gfMultiply(0x57, 0x83)).toBe(0xc1);
    // FIPS-197 §4.2.1: {57} • {02} = {ae}, • {04} = {47}, • {08} = {8e}, • {10} = {07}, • {13} = {fe}.
    expect([0x02, 0x04, 0x08, 0x10, 0x13].map((b) => gfMultiply(0x57, b))).toEqual([
      0xae, 0x47, 0x8e, 0x07, 0xfe,
    ]);
  });

  it('inverts {53} to {ca}, the input behind the FIPS-197 §5.1.1 S-box example', () => {
    // {53} • {ca} = {01} in GF(2^8) mod {11b}. The brief cited FIPS-197 §4.2 for it; the
    // standard's own use of it is §5.1.1: SubBytes maps {53} to {ed}, the affine transform
    // (equation 5.1: b ⊕ rotl1 ⊕ rotl2 ⊕ rotl3 ⊕ rotl4 ⊕ {63}) of the inverse {ca}.
    expect(gfMultiply(0x53, 0xca)).toBe(0x01);
    expect(gfInverse(0x53)).toBe(0xca);
    const rotl = (b: number, n: number) => ((b << n) | (b >> (8 - n))) & 0xff;
    const affine = (b: number) => b ^ rotl(b, 1) ^ rotl(b, 2) ^ rotl(b, 3) ^ rotl(b, 4) ^ 0x63;
    expect(affine(gfInverse(0x53))).toBe(0xed);
  });

  it('agrees with the log/exp tables on all 65,536 products', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        if (gfMultiply(a, b) !== gfMultiplyByTables(a, b)) expect([a, b, gfMultiply(a, b)]).toBe('equal');
      }
    }
  });

  it('has {03} as a generator and an inverse for every non-zero element', () => {
    const powers = new Set<number>();
    let value = 1;
    for (let i = 0; i < 255; i++) {
      powers.add(value);
      value = gfMultiply(value, 0x03);
    }
    expect(powers.size).toBe(255);
    expect(value).toBe(1);
    for (let a = 1; a < 256; a++) expect(gfMultiply(a, gfInverse(a))).toBe(1);
    expect(errorOf(() => gfInverse(0))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});

describe('splitSecret and combineShares', () => {
  it('reproduces a split worked by hand', () => {
    // Secret byte {42}, threshold 2, coefficient a1 = {05}: f(x) = {42} ⊕ {05}•x.
    //   f(1) = {42} ⊕ {05}                   = {47}
    //   f(2) = {42} ⊕ {0a}                   = {48}
    //   f(3) = {42} ⊕ ({0a} ⊕ {05}) = {42} ⊕ {0f} = {4d}
    // From x = 1 and x = 3: ℓ1(0) = 3/(3 ⊕ 1) = {03}/{02}, ℓ3(0) = 1/(1 ⊕ 3) = {01}/{02}, so
    //   f(0) = ({47}•{03} ⊕ {4d}) / {02} = ({c9} ⊕ {4d}) / {02} = {84} / {02} = {42}.
    const shares = splitSecret(Uint8Array.of(0x42), { shares: 3, threshold: 2 }, fixed(0x05));
    expect(shares).toEqual([
      { x: 1, y: Uint8Array.of(0x47) },
      { x: 2, y: Uint8Array.of(0x48) },
      { x: 3, y: Uint8Array.of(0x4d) },
    ]);
    expect(combineShares([shares[0] as Share, shares[2] as Share])).toEqual(Uint8Array.of(0x42));
  });

  it('recovers the secret from any k of n shares, in any order, and from more than k', () => {
    const splitCase = fc
      .integer({ min: 2, max: 12 })
      .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 2, max: n })))
      .chain(([n, k]) =>
        fc.tuple(
          fc.uint8Array({ minLength: 1, maxLength: 48 }),
          fc.constant(n),
          fc.constant(k),
          fc.shuffledSubarray([...Array(n).keys()], { minLength: k, maxLength: n }),
        ),
      );
    fc.assert(
      fc.property(splitCase, ([secret, n, k, picked]) => {
        const shares = splitSecret(secret, { shares: n, threshold: k });
        expect(shares.map((share) => share.x)).toEqual([...Array(n).keys()].map((i) => i + 1));
        expect(combineShares(picked.map((i) => shares[i] as Share))).toEqual(secret);
      }),
    );
  });

  it('gives something other than the secret from k - 1 shares', () => {
    // 32-byte secrets: k - 1 shares land on the secret with probability 2^-256.
    const splitCase = fc
      .integer({ min: 3, max: 10 })
      .chain((k) => fc.tuple(fc.constant(k), fc.integer({ min: k, max: 12 })))
      .chain(([k, n]) =>
        fc.tuple(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.constant(n),
          fc.constant(k),
          fc.shuffledSubarray([...Array(n).keys()], { minLength: k - 1, maxLength: k - 1 }),
        ),
      );
    fc.assert(
      fc.property(splitCase, ([secret, n, k, picked]) => {
        const shares = splitSecret(secret, { shares: n, threshold: k });
        expect(combineShares(picked.map((i) => shares[i] as Share))).not.toEqual(secret);
      }),
    );
  });

  it('makes one share uniformly distributed whatever the secret (k = 2, all 256 coefficients)', () => {
    for (const secret of [0x00, 0x42, 0xff]) {
      const seen = new Set<number>();
      for (let a = 0; a < 256; a++) {
        const shares = splitSecret(Uint8Array.of(secret), { shares: 5, threshold: 2 }, fixed(a));
        seen.add(shares[4]?.y[0] ?? -1);
      }
      expect(seen.size).toBe(256);
    }
  });

  it('makes two shares jointly uniform whatever the secret (k = 3, all 65,536 coefficient pairs)', () => {
    for (const secret of [0x00, 0xa5]) {
      const seen = new Set<number>();
      for (let a1 = 0; a1 < 256; a1++) {
        for (let a2 = 0; a2 < 256; a2++) {
          const [s1, s2] = splitSecret(Uint8Array.of(secret), { shares: 3, threshold: 3 }, fixed(a1, a2));
          seen.add(((s1?.y[0] ?? 0) << 8) | (s2?.y[0] ?? 0));
        }
      }
      expect(seen.size).toBe(65_536);
    }
  });

  it('asks for secret.length · (k - 1) random bytes', () => {
    let asked = -1;
    splitSecret(new Uint8Array(32), { shares: 5, threshold: 3 }, (size) => {
      asked = size;
      return new Uint8Array(size);
    });
    expect(asked).toBe(64);
  });

  it.each([
    ['threshold 1', { shares: 3, threshold: 1 }],
    ['threshold above shares', { shares: 3, threshold: 4 }],
    ['256 shares', { shares: 256, threshold: 2 }],
    ['fractional threshold', { shares: 3, threshold: 2.5 }],
  ])('rejects %s', (_, options) => {
    expect(errorOf(() => splitSecret(new Uint8Array(4), options))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });

  it('rejects empty or oversized secrets and short randomness', () => {
    const options = { shares: 3, threshold: 2 };
    expect(errorOf(() => splitSecret(new Uint8Array(0), options))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    expect(errorOf(() => splitSecret(new Uint8Array(1025), options))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    expect(errorOf(() => splitSecret(new Uint8Array(4), options, () => new Uint8Array(3)))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });

  it('splits 255 shares at x = 1..255 and combines from the last ones', () => {
    const secret = randomBytes(16);
    const shares = splitSecret(secret, { shares: 255, threshold: 200 });
    expect(shares[254]?.x).toBe(255);
    expect(combineShares(shares.slice(55))).toEqual(new Uint8Array(secret));
  });

  it('rejects duplicate x values, bad x values, mixed lengths and too few shares', () => {
    const y = Uint8Array.of(1, 2);
    const cases: Share[][] = [
      [{ x: 1, y }],
      [
        { x: 1, y },
        { x: 1, y },
      ],
      [
        { x: 0, y },
        { x: 1, y },
      ],
      [
        { x: 1, y },
        { x: 256, y },
      ],
      [
        { x: 1, y },
        { x: 2, y: Uint8Array.of(1) },
      ],
      [
        { x: 1, y: new Uint8Array(0) },
        { x: 2, y: new Uint8Array(0) },
      ],
    ];
    for (const shares of cases) {
      expect(errorOf(() => combineShares(shares))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    }
    const three = splitSecret(y, { shares: 3, threshold: 3 });
    expect(errorOf(() => combineShares(three.slice(0, 2), { threshold: 3 }))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    expect(combineShares(three, { threshold: 3 })).toEqual(y);
  });
});

describe('formatShare and parseShare', () => {
  const share: Share = { x: 1, y: Uint8Array.of(0x47) };
  const checksum = (body: string) => createHash('sha256').update(body).digest('hex').slice(0, 8);

  it('writes careledger-share-v1:<id>:<threshold>:<x>:<hex>:<checksum>', () => {
    const body = 'careledger-share-v1:patient-7:2:1:47';
    expect(formatShare(share, { threshold: 2, id: 'patient-7' })).toBe(`${body}:${checksum(body)}`);
  });

  it('round-trips and tolerates surrounding whitespace', () => {
    const text = formatShare(share, { threshold: 2, id: 'patient-7' });
    expect(parseShare(`  ${text}\n`)).toEqual({
      id: 'patient-7',
      threshold: 2,
      x: 1,
      y: Uint8Array.of(0x47),
    });
  });

  it('rejects a bad checksum', () => {
    const body = 'careledger-share-v1:patient-7:2:1:47';
    expect(errorOf(() => parseShare(`${body}:00000000`))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { reason: 'checksum mismatch (mistyped or damaged)' },
    });
    const typo = `careledger-share-v1:patient-7:2:1:46:${checksum(body)}`;
    expect(errorOf(() => parseShare(typo))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });

  it('catches any one mistyped character', () => {
    const secret = randomBytes(32);
    const texts = splitSecret(secret, { shares: 3, threshold: 2 }).map((s) =>
      formatShare(s, { threshold: 2, id: 'patient-7' }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...texts),
        fc.nat(),
        fc.constantFrom(...'0123456789abcdefxyz:-'),
        (text, at, replacement) => {
          const position = at % text.length;
          fc.pre(text[position] !== replacement);
          const typo = text.slice(0, position) + replacement + text.slice(position + 1);
          expect(errorOf(() => parseShare(typo))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
        },
      ),
    );
  });

  it.each([
    ['another format', 'sss-share-v1:p:2:1:47:00000000'],
    ['x = 0', 'careledger-share-v1:p:2:0:47'],
    ['x = 256', 'careledger-share-v1:p:2:256:47'],
    ['threshold 1', 'careledger-share-v1:p:1:1:47'],
    ['threshold 256', 'careledger-share-v1:p:256:1:47'],
    ['a leading zero', 'careledger-share-v1:p:02:1:47'],
    ['upper-case hex', 'careledger-share-v1:p:2:1:4A'],
    ['odd-length hex', 'careledger-share-v1:p:2:1:470'],
    ['an empty id', 'careledger-share-v1::2:1:47'],
    ['an id with a space', 'careledger-share-v1:p q:2:1:47'],
  ])('rejects %s, even with a correct checksum', (_, body) => {
    expect(errorOf(() => parseShare(`${body}:${checksum(body)}`))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });

  it('refuses to format what it would not parse', () => {
    const cases: Array<() => unknown> = [
      () => formatShare(share, { threshold: 1, id: 'p' }),
      () => formatShare(share, { threshold: 2, id: 'with space' }),
      () => formatShare(share, { threshold: 2, id: 'x'.repeat(65) }),
      () => formatShare({ x: 0, y: share.y }, { threshold: 2, id: 'p' }),
      () => formatShare({ x: 1, y: new Uint8Array(0) }, { threshold: 2, id: 'p' }),
    ];
    for (const fn of cases) expect(errorOf(fn)).toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });

  it('carries a guardian recovery of a 32-byte key end to end', () => {
    const key = randomBytes(32);
    const texts = splitSecret(key, { shares: 5, threshold: 3 }).map((s) =>
      formatShare(s, { threshold: 3, id: '0x8ba1f109551bd432803012645ac136ddd64dba72' }),
    );
    const returned = [texts[4], texts[0], texts[2]].map((text) => parseShare(text ?? ''));
    expect(combineShares(returned, { threshold: returned[0]?.threshold })).toEqual(new Uint8Array(key));
  });
});
