import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/reason-of.js';
import { combineShares, formatShare, parseShare, type Share, splitSecret } from './shamir.js';

/** What a promise rejects with; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

const legacy = JSON.parse(
  readFileSync(new URL('../../test/vectors/careledger-shares-v1/shares.json', import.meta.url), 'utf8'),
) as { secret: string; threshold: number; shares: string[] };

describe('splitSecret and combineShares (shamir-secret-sharing)', () => {
  it('recombines a split worked by hand in GF(2^8) with the AES polynomial', async () => {
    // Secret byte {42}, threshold 2, coefficient a1 = {05}: f(x) = {42} ⊕ {05}•x.
    //   f(1) = {42} ⊕ {05}                   = {47}
    //   f(3) = {42} ⊕ ({0a} ⊕ {05}) = {42} ⊕ {0f} = {4d}
    // From x = 1 and x = 3: ℓ1(0) = 3/(3 ⊕ 1) = {03}/{02}, ℓ3(0) = 1/(1 ⊕ 3) = {01}/{02}, so
    //   f(0) = ({47}•{03} ⊕ {4d}) / {02} = ({c9} ⊕ {4d}) / {02} = {84} / {02} = {42}.
    const shares: Share[] = [
      { x: 1, y: Uint8Array.of(0x47) },
      { x: 3, y: Uint8Array.of(0x4d) },
    ];
    expect(await combineShares(shares)).toEqual(Uint8Array.of(0x42));
    expect(await combineShares([{ x: 2, y: Uint8Array.of(0x48) }, shares[1] as Share])).toEqual(
      Uint8Array.of(0x42),
    );
  });

  it('recovers guardian shares made by the code before 0009 (x = 1..n), from any 3 of 5', async () => {
    const parsed = legacy.shares.map(parseShare);
    for (const picked of [
      [0, 1, 2],
      [4, 2, 0],
      [1, 3, 4],
    ]) {
      const secret = await combineShares(
        picked.map((i) => parsed[i] as Share),
        { threshold: legacy.threshold },
      );
      expect(Buffer.from(secret).toString('hex')).toBe(legacy.secret);
    }
    expect(Buffer.from(await combineShares(parsed.slice(0, 2))).toString('hex')).not.toBe(legacy.secret);
  });

  it('recovers the secret from any k of n shares, in any order, and from more than k', async () => {
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
    await fc.assert(
      fc.asyncProperty(splitCase, async ([secret, n, k, picked]) => {
        const shares = await splitSecret(secret, { shares: n, threshold: k });
        expect(new Set(shares.map((share) => share.x)).size).toBe(n);
        for (const share of shares) expect(share.x).toBeGreaterThanOrEqual(1);
        expect(await combineShares(picked.map((i) => shares[i] as Share))).toEqual(secret);
      }),
      { numRuns: 50 },
    );
  });

  it('gives something other than the secret from k - 1 shares', async () => {
    // 32-byte secrets: k - 1 shares land on the secret with probability 2^-256.
    for (const [n, k] of [
      [3, 3],
      [5, 3],
      [12, 10],
    ] as const) {
      const secret = new Uint8Array(randomBytes(32));
      const shares = await splitSecret(secret, { shares: n, threshold: k });
      expect(await combineShares(shares.slice(0, k - 1))).not.toEqual(secret);
    }
  });

  it.each([
    ['threshold 1', { shares: 3, threshold: 1 }],
    ['threshold above shares', { shares: 3, threshold: 4 }],
    ['256 shares', { shares: 256, threshold: 2 }],
    ['fractional threshold', { shares: 3, threshold: 2.5 }],
  ])('rejects %s', async (_, options) => {
    expect(await rejectionOf(splitSecret(new Uint8Array(4), options))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });

  it('rejects empty or oversized secrets', async () => {
    const options = { shares: 3, threshold: 2 };
    for (const size of [0, 1025]) {
      expect(await rejectionOf(splitSecret(new Uint8Array(size), options))).toMatchObject({
        code: 'ERR_INVALID_INPUT',
      });
    }
  });

  it('splits 255 shares and combines from the last ones', async () => {
    const secret = new Uint8Array(randomBytes(16));
    const shares = await splitSecret(secret, { shares: 255, threshold: 200 });
    expect(new Set(shares.map((s) => s.x)).size).toBe(255);
    expect(await combineShares(shares.slice(55))).toEqual(secret);
  });

  it('rejects duplicate x values, bad x values, mixed lengths and too few shares', async () => {
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
      expect(await rejectionOf(combineShares(shares))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    }
    const three = await splitSecret(y, { shares: 3, threshold: 3 });
    expect(await rejectionOf(combineShares(three.slice(0, 2), { threshold: 3 }))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    expect(await combineShares(three, { threshold: 3 })).toEqual(y);
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

  it('catches any one mistyped character', async () => {
    const secret = new Uint8Array(randomBytes(32));
    const texts = (await splitSecret(secret, { shares: 3, threshold: 2 })).map((s) =>
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

  it('carries a guardian recovery of a 32-byte key end to end', async () => {
    const key = randomBytes(32);
    const texts = (await splitSecret(new Uint8Array(key), { shares: 5, threshold: 3 })).map((s) =>
      formatShare(s, { threshold: 3, id: '0x8ba1f109551bd432803012645ac136ddd64dba72' }),
    );
    const returned = [texts[4], texts[0], texts[2]].map((text) => parseShare(text ?? ''));
    expect(await combineShares(returned, { threshold: returned[0]?.threshold })).toEqual(new Uint8Array(key));
  });
});
