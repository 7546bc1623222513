import { describe, expect, test } from 'vitest';
import { createSigningKey, signJwt, type VerifyJwtOptions } from './jwt.js';
import { JwtVerificationCache } from './jwt-verification-cache.js';

const key = createSigningKey('ES256');
const NOW = 1_800_000_000;
const options = (now: number, extra: Partial<VerifyJwtOptions> = {}): VerifyJwtOptions => ({
  keys: [key.publicJwk],
  algorithms: ['ES256'],
  now,
  issuer: 'https://node.example',
  audience: 'https://node.example/fhir',
  clockToleranceSeconds: 0,
  requireClaims: ['exp'],
  ...extra,
});
const token = (claims: Record<string, unknown> = {}) =>
  signJwt(
    {
      iss: 'https://node.example',
      aud: 'https://node.example/fhir',
      sub: 'u',
      nbf: NOW - 5,
      exp: NOW + 300,
      ...claims,
    },
    key.privateJwk,
  );

describe('JwtVerificationCache', () => {
  test('answers a token it verified from memory, with the same result', async () => {
    const cache = new JwtVerificationCache();
    const jwt = await token();
    const first = await cache.verify(jwt, options(NOW));
    expect(await cache.verify(jwt, options(NOW + 10))).toBe(first);
    // Shared by every request with this token, so nobody may change it.
    expect(Object.isFrozen(first.payload)).toBe(true);
  });

  test('checks exp and nbf again at every use, with the caller’s clock', async () => {
    const cache = new JwtVerificationCache();
    const jwt = await token();
    await cache.verify(jwt, options(NOW));
    await expect(cache.verify(jwt, options(NOW + 300))).rejects.toMatchObject({
      code: 'ERR_UNAUTHENTICATED',
      details: { reason: 'expired' },
    });
    await expect(cache.verify(jwt, options(NOW - 6))).rejects.toMatchObject({
      details: { reason: 'not-yet-valid' },
    });
    // With a tolerance, as jose counts it.
    expect((await cache.verify(jwt, options(NOW + 330, { clockToleranceSeconds: 60 }))).payload.sub).toBe(
      'u',
    );
  });

  test('does not answer for other verifier options: another audience, issuer or key set verifies afresh', async () => {
    const cache = new JwtVerificationCache();
    const jwt = await token();
    await cache.verify(jwt, options(NOW));
    await expect(
      cache.verify(jwt, options(NOW, { audience: 'https://other.example/fhir' })),
    ).rejects.toMatchObject({
      details: { reason: 'wrong-audience' },
    });
    await expect(cache.verify(jwt, options(NOW, { issuer: 'https://other.example' }))).rejects.toMatchObject({
      details: { reason: 'wrong-issuer' },
    });
    await expect(
      cache.verify(
        jwt,
        options(NOW, { keys: [{ ...createSigningKey('ES256').publicJwk, kid: key.publicJwk.kid }] }),
      ),
    ).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
  });

  test('never remembers a failure, nor a token that does not expire', async () => {
    const cache = new JwtVerificationCache();
    const jwt = await token();
    const [head, body] = jwt.split('.') as [string, string, string];
    const forged = `${head}.${body}.${Buffer.alloc(64).toString('base64url')}`;
    await expect(cache.verify(forged, options(NOW))).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    await expect(cache.verify(forged, options(NOW))).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
    const forever = await token({ exp: undefined });
    const opts = options(NOW, { requireClaims: [] });
    expect(await cache.verify(forever, opts)).not.toBe(await cache.verify(forever, opts));
  });

  test('stays within its entry bound', async () => {
    const cache = new JwtVerificationCache({ maxEntries: 2 });
    const [a, b, c] = [await token({ jti: 'a' }), await token({ jti: 'b' }), await token({ jti: 'c' })];
    const first = await cache.verify(a, options(NOW));
    await cache.verify(b, options(NOW));
    await cache.verify(c, options(NOW));
    expect(await cache.verify(a, options(NOW))).not.toBe(first); // a was evicted, verified again
  });
});
