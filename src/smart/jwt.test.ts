import { createHmac, generateKeyPairSync, type JsonWebKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { encodeBase64url } from './base64url.js';
import {
  computeJwkThumbprint,
  createSigningKey,
  JWT_ALGORITHMS,
  JWT_FAILURE_REASONS,
  type Jwk,
  type JwtAlgorithm,
  parseUnverifiedJwt,
  signJwt,
  type VerifyJwtOptions,
  verifyJwt,
} from './jwt.js';

const VECTORS = join(import.meta.dirname, '../../test/vectors');
const rfc7515 = JSON.parse(readFileSync(join(VECTORS, 'rfc7515/es256-appendix-a3.json'), 'utf8')) as {
  jwk: Jwk;
  protectedHeader: Record<string, unknown>;
  payload: string;
  jws: string;
};
const rfc7638 = JSON.parse(readFileSync(join(VECTORS, 'rfc7638/rsa-section-3-1.json'), 'utf8')) as {
  jwk: Jwk;
  thumbprint: string;
};

function publicOf({ d: _d, ...rest }: Jwk): Jwk {
  return rest;
}

/** Signs any header and claims, bypassing signJwt's checks, to build hostile tokens. */
function forge(header: Record<string, unknown>, payload: unknown, privateJwk: Jwk): string {
  const input = `${encodeBase64url(JSON.stringify(header))}.${encodeBase64url(JSON.stringify(payload))}`;
  const ec = privateJwk.kty === 'EC';
  const hash = privateJwk.crv === 'P-384' || !ec ? 'sha384' : 'sha256';
  const signature = sign(hash, Buffer.from(input), {
    key: privateJwk as JsonWebKey,
    format: 'jwk',
    ...(ec ? { dsaEncoding: 'ieee-p1363' as const } : {}),
  });
  return `${input}.${encodeBase64url(signature)}`;
}

/** `CODE:reason` of the CareLedgerError `fn` throws or rejects with, or `ok`. */
async function reasonOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CareLedgerError) return `${e.code}:${String(e.details.reason)}`;
    throw e;
  }
  return 'ok';
}

const NOW = 1_700_000_000;
const keys = Object.fromEntries(JWT_ALGORITHMS.map((alg) => [alg, createSigningKey(alg)])) as Record<
  JwtAlgorithm,
  ReturnType<typeof createSigningKey>
>;
const es256 = keys.ES256;
const options = (extra: Partial<VerifyJwtOptions> = {}): VerifyJwtOptions => ({
  keys: [es256.publicJwk, keys.ES384.publicJwk, keys.RS384.publicJwk],
  algorithms: JWT_ALGORITHMS,
  now: NOW,
  ...extra,
});

describe('computeJwkThumbprint', () => {
  test('RFC 7638 §3.1 example', async () => {
    expect(computeJwkThumbprint(rfc7638.jwk)).toBe(rfc7638.thumbprint);
    expect(rfc7638.thumbprint).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });

  test('ignores non-required members, so a private key and its public half agree', async () => {
    const { kid: _kid, alg: _alg, ...bare } = rfc7638.jwk;
    expect(computeJwkThumbprint({ ...bare, use: 'sig' })).toBe(rfc7638.thumbprint);
    expect(computeJwkThumbprint(rfc7515.jwk)).toBe(computeJwkThumbprint(publicOf(rfc7515.jwk)));
  });

  test('refuses keys without their required members', async () => {
    expect(await reasonOf(async () => computeJwkThumbprint({ kty: 'RSA', e: 'AQAB' }))).toBe(
      'ERR_INVALID_INPUT:malformed-key',
    );
    expect(await reasonOf(async () => computeJwkThumbprint({ kty: 'XYZ' }))).toBe(
      'ERR_INVALID_INPUT:malformed-key',
    );
  });
});

describe('RFC 7515 Appendix A.3 (ES256)', () => {
  const publicJwk = publicOf(rfc7515.jwk);
  const beforeExp = 1_300_819_300;

  test('verifies with a clock before its exp', async () => {
    const { header, payload } = await verifyJwt(rfc7515.jws, {
      keys: [publicJwk],
      algorithms: ['ES256'],
      now: beforeExp,
      issuer: 'joe',
      requireClaims: ['exp'],
    });
    expect(header).toEqual(rfc7515.protectedHeader);
    expect(payload).toEqual(JSON.parse(rfc7515.payload));
  });

  test('without a kid, finds its key among keys of other types and curves', async () => {
    const decoy = createSigningKey('ES256').publicJwk;
    const { kid: _kid, ...decoyWithoutKid } = decoy;
    const result = await verifyJwt(rfc7515.jws, {
      keys: [keys.RS384.publicJwk, keys.ES384.publicJwk, decoyWithoutKid, publicJwk],
      algorithms: ['ES256'],
      now: beforeExp,
    });
    expect(result.payload.iss).toBe('joe');
  });

  test('is expired once exp plus the clock tolerance has passed', async () => {
    const at = (now: number, clockToleranceSeconds?: number) =>
      reasonOf(
        async () =>
          await verifyJwt(rfc7515.jws, {
            keys: [publicJwk],
            algorithms: ['ES256'],
            now,
            clockToleranceSeconds,
          }),
      );
    expect(await at(1_300_819_380 + 59)).toBe('ok');
    expect(await at(1_300_819_380 + 60)).toBe('ERR_UNAUTHENTICATED:expired');
    expect(await at(1_300_819_380, 0)).toBe('ERR_UNAUTHENTICATED:expired');
    expect(await at(1_300_819_379, 0)).toBe('ok');
  });

  test('is refused when ES256 is not an allowed algorithm', async () => {
    expect(
      await reasonOf(
        async () =>
          await verifyJwt(rfc7515.jws, { keys: [publicJwk], algorithms: ['ES384', 'RS384'], now: beforeExp }),
      ),
    ).toBe('ERR_UNAUTHENTICATED:unsupported-algorithm');
  });

  test('a token signed with its private key verifies', async () => {
    const kid = computeJwkThumbprint(publicJwk);
    const token = await signJwt({ iss: 'joe', exp: beforeExp + 100 }, rfc7515.jwk);
    const verify = (key: Jwk) => verifyJwt(token, { keys: [key], algorithms: ['ES256'], now: beforeExp });
    expect((await verify({ ...publicJwk, kid })).header).toEqual({ alg: 'ES256', typ: 'JWT', kid });
    // The header names a kid, so a key set entry without one is not a candidate (RFC 7515 §4.1.4).
    expect(await reasonOf(async () => verify(publicJwk))).toBe('ERR_UNAUTHENTICATED:unknown-key');
  });
});

describe.each(JWT_ALGORITHMS)('%s round trip', async (alg) => {
  const { privateJwk, publicJwk } = keys[alg];

  test('createSigningKey labels both halves', async () => {
    const kid = computeJwkThumbprint(publicJwk);
    expect(publicJwk).toMatchObject({ kid, alg, use: 'sig' });
    expect(privateJwk).toMatchObject({ kid, alg, use: 'sig' });
    expect(publicJwk.d).toBeUndefined();
    expect(typeof privateJwk.d).toBe('string');
  });

  test('signs and verifies', async () => {
    const claims = {
      iss: 'https://node-a.example',
      sub: 'u1',
      aud: 'https://node-a.example/fhir',
      exp: NOW + 300,
    };
    const token = await signJwt(claims, privateJwk);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const verified = await verifyJwt(
      token,
      options({ issuer: claims.iss, audience: claims.aud, requireClaims: ['sub', 'exp'], algorithms: [alg] }),
    );
    expect(verified.header).toEqual({ alg, typ: 'JWT', kid: publicJwk.kid });
    expect(verified.payload).toEqual(claims);
  });

  test('rejects any changed part', async () => {
    const token = await signJwt({ sub: 'u1', exp: NOW + 300 }, privateJwk);
    const [h, p, s] = token.split('.') as [string, string, string];
    const otherPayload = encodeBase64url(JSON.stringify({ sub: 'admin', exp: NOW + 300 }));
    expect(await reasonOf(async () => await verifyJwt(`${h}.${otherPayload}.${s}`, options()))).toBe(
      'ERR_SIGNATURE_INVALID:bad-signature',
    );
    const signature = Buffer.from(s, 'base64url');
    signature[5] = (signature[5] ?? 0) ^ 1;
    expect(
      await reasonOf(async () => await verifyJwt(`${h}.${p}.${encodeBase64url(signature)}`, options())),
    ).toBe('ERR_SIGNATURE_INVALID:bad-signature');
    expect(
      await reasonOf(
        async () => await verifyJwt(`${h}.${p}.${encodeBase64url(signature.subarray(1))}`, options()),
      ),
    ).toBe('ERR_SIGNATURE_INVALID:bad-signature');
  });
});

describe('verifyJwt rejections', () => {
  const good = (payload: Record<string, unknown>) => signJwt(payload, es256.privateJwk);
  const header = { alg: 'ES256', typ: 'JWT', kid: es256.publicJwk.kid };

  test.each([
    ['two parts', 'abc.def'],
    ['five parts (a JWE)', 'a.b.c.d.e'],
    ['padded base64url', `${encodeBase64url('{"alg":"ES256"}')}=.e30.AA`],
    ['standard base64 alphabet', rfc7515.jws.replaceAll('-', '+')],
    ['non-zero trailing bits', `${rfc7515.jws.slice(0, -1)}R`],
    ['header not JSON', `${encodeBase64url('{alg')}.e30.AA`],
    ['header an array', `${encodeBase64url('["ES256"]')}.e30.AA`],
    ['header without alg', `${encodeBase64url('{"typ":"JWT"}')}.e30.AA`],
    ['payload not an object', `${encodeBase64url('{"alg":"ES256"}')}.${encodeBase64url('"joe"')}.AA`],
    [
      'payload not UTF-8',
      `${encodeBase64url('{"alg":"ES256"}')}.${encodeBase64url(Buffer.from([0x7b, 0xff, 0x7d]))}.AA`,
    ],
    ['too long', `${'a'.repeat(70_000)}.e30.AA`],
  ])('malformed: %s', async (_name, token) => {
    expect(await reasonOf(async () => await verifyJwt(token, options()))).toBe(
      'ERR_UNAUTHENTICATED:malformed',
    );
  });

  test.each([
    ['exp a string', { exp: String(NOW + 10) }],
    ['nbf null', { nbf: null }],
    ['iss a number', { iss: 7 }],
    ['aud an array with a number', { aud: ['x', 1] }],
    ['jti an object', { jti: {} }],
  ])('malformed claim: %s', async (_name, payload) => {
    expect(
      await reasonOf(async () => await verifyJwt(forge(header, payload, es256.privateJwk), options())),
    ).toBe('ERR_UNAUTHENTICATED:malformed');
  });

  test('an unknown critical header parameter (RFC 7515 §4.1.11)', async () => {
    const token = forge({ ...header, crit: ['exp'], exp: 1 }, {}, es256.privateJwk);
    expect(await reasonOf(async () => await verifyJwt(token, options()))).toBe(
      'ERR_UNAUTHENTICATED:malformed',
    );
  });

  test('alg none, even with an empty signature and every algorithm allowed', async () => {
    const token = `${encodeBase64url('{"alg":"none","typ":"JWT"}')}.${encodeBase64url('{"sub":"admin"}')}.`;
    expect(await reasonOf(async () => await verifyJwt(token, options()))).toBe(
      'ERR_UNAUTHENTICATED:unsupported-algorithm',
    );
  });

  test('HS256 keyed with the public key (algorithm confusion)', async () => {
    const input = `${encodeBase64url(JSON.stringify({ ...header, alg: 'HS256' }))}.${encodeBase64url('{}')}`;
    const mac = createHmac('sha256', JSON.stringify(es256.publicJwk)).update(input).digest('base64url');
    expect(await reasonOf(async () => await verifyJwt(`${input}.${mac}`, options()))).toBe(
      'ERR_UNAUTHENTICATED:unsupported-algorithm',
    );
  });

  test('an algorithm outside the allowed list', async () => {
    expect(
      await reasonOf(async () => await verifyJwt(await good({}), options({ algorithms: ['RS384'] }))),
    ).toBe('ERR_UNAUTHENTICATED:unsupported-algorithm');
  });

  test('a kid naming a key of another type than alg', async () => {
    const token = forge({ ...header, kid: keys.RS384.publicJwk.kid }, {}, es256.privateJwk);
    expect(await reasonOf(async () => await verifyJwt(token, options()))).toBe(
      'ERR_UNAUTHENTICATED:unsupported-algorithm',
    );
    const es384Kid = forge({ ...header, kid: keys.ES384.publicJwk.kid }, {}, es256.privateJwk);
    expect(await reasonOf(async () => await verifyJwt(es384Kid, options()))).toBe(
      'ERR_UNAUTHENTICATED:unsupported-algorithm',
    );
  });

  test('a kid not in the key set', async () => {
    const token = forge({ ...header, kid: 'rotated-away' }, {}, es256.privateJwk);
    expect(await reasonOf(async () => await verifyJwt(token, options()))).toBe(
      'ERR_UNAUTHENTICATED:unknown-key',
    );
  });

  test('no kid and no key of the matching type', async () => {
    const token = forge({ alg: 'ES256' }, {}, es256.privateJwk);
    expect(
      await reasonOf(
        async () => await verifyJwt(token, options({ keys: [keys.RS384.publicJwk, keys.ES384.publicJwk] })),
      ),
    ).toBe('ERR_UNAUTHENTICATED:unknown-key');
  });

  test('keys restricted to other uses are not used', async () => {
    for (const restricted of [
      { ...es256.publicJwk, use: 'enc' },
      { ...es256.publicJwk, key_ops: ['encrypt'] },
      { ...es256.publicJwk, alg: 'ES384' },
    ]) {
      expect(
        await reasonOf(async () => await verifyJwt(await good({}), options({ keys: [restricted] }))),
      ).toBe('ERR_UNAUTHENTICATED:unsupported-algorithm');
    }
    expect(
      await reasonOf(
        async () =>
          await verifyJwt(await good({}), options({ keys: [{ ...es256.publicJwk, key_ops: ['verify'] }] })),
      ),
    ).toBe('ok');
  });

  test('an RSA key under 2048 bits (RFC 7518 §3.3)', async () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      format: 'jwk',
    }) as Jwk;
    const kid = computeJwkThumbprint(small);
    const token = forge({ alg: 'RS384', kid }, {}, small);
    expect(
      await reasonOf(async () => await verifyJwt(token, options({ keys: [{ ...publicOf(small), kid }] }))),
    ).toBe('ERR_UNAUTHENTICATED:unknown-key');
    expect(await reasonOf(async () => await signJwt({}, small))).toBe('ERR_INVALID_INPUT:key-too-small');
  });

  test('a signature by another key with the same kid', async () => {
    const impostor = { ...createSigningKey('ES256').privateJwk, kid: es256.publicJwk.kid };
    expect(await reasonOf(async () => await verifyJwt(await signJwt({}, impostor), options()))).toBe(
      'ERR_SIGNATURE_INVALID:bad-signature',
    );
  });

  test('time claims', async () => {
    expect(await reasonOf(async () => await verifyJwt(await good({ exp: NOW - 61 }), options()))).toBe(
      'ERR_UNAUTHENTICATED:expired',
    );
    expect(await reasonOf(async () => await verifyJwt(await good({ exp: NOW - 59 }), options()))).toBe('ok');
    expect(await reasonOf(async () => await verifyJwt(await good({ nbf: NOW + 61 }), options()))).toBe(
      'ERR_UNAUTHENTICATED:not-yet-valid',
    );
    expect(await reasonOf(async () => await verifyJwt(await good({ nbf: NOW + 60 }), options()))).toBe('ok');
    expect(
      await reasonOf(
        async () => await verifyJwt(await good({ nbf: NOW + 1 }), options({ clockToleranceSeconds: 0 })),
      ),
    ).toBe('ERR_UNAUTHENTICATED:not-yet-valid');
  });

  test('issuer', async () => {
    expect(
      await reasonOf(
        async () =>
          await verifyJwt(
            await good({ iss: 'https://evil.example' }),
            options({ issuer: 'https://a.example' }),
          ),
      ),
    ).toBe('ERR_UNAUTHENTICATED:wrong-issuer');
    expect(
      await reasonOf(async () => await verifyJwt(await good({}), options({ issuer: 'https://a.example' }))),
    ).toBe('ERR_UNAUTHENTICATED:missing-claim');
  });

  test('audience as a string or an array', async () => {
    const me = 'https://a.example/fhir';
    expect(
      await reasonOf(async () => await verifyJwt(await good({ aud: me }), options({ audience: me }))),
    ).toBe('ok');
    expect(
      await reasonOf(async () => await verifyJwt(await good({ aud: ['x', me] }), options({ audience: me }))),
    ).toBe('ok');
    expect(
      await reasonOf(
        async () => await verifyJwt(await good({ aud: 'https://b.example/fhir' }), options({ audience: me })),
      ),
    ).toBe('ERR_UNAUTHENTICATED:wrong-audience');
    expect(
      await reasonOf(async () => await verifyJwt(await good({ aud: [] }), options({ audience: me }))),
    ).toBe('ERR_UNAUTHENTICATED:wrong-audience');
    expect(await reasonOf(async () => await verifyJwt(await good({}), options({ audience: me })))).toBe(
      'ERR_UNAUTHENTICATED:missing-claim',
    );
    // RFC 7519 §4.1.3: a verifier that is not named in a present aud must reject.
    expect(await reasonOf(async () => await verifyJwt(await good({ aud: me }), options()))).toBe(
      'ERR_UNAUTHENTICATED:wrong-audience',
    );
  });

  test('required claims', async () => {
    const error = await (async () => {
      try {
        await verifyJwt(await good({ sub: 'u1' }), options({ requireClaims: ['sub', 'jti'] }));
      } catch (e) {
        return e as CareLedgerError;
      }
    })();
    expect(error?.code).toBe('ERR_UNAUTHENTICATED');
    expect(error?.details).toEqual({ reason: 'missing-claim', claim: 'jti' });
  });

  test('claims are not examined before the signature', async () => {
    const impostor = { ...createSigningKey('ES256').privateJwk, kid: es256.publicJwk.kid };
    expect(await reasonOf(async () => await verifyJwt(await signJwt({ exp: 1 }, impostor), options()))).toBe(
      'ERR_SIGNATURE_INVALID:bad-signature',
    );
  });

  test('every reason thrown is in the closed list, and messages carry no token', async () => {
    const token = await good({ exp: NOW - 1000 });
    try {
      await verifyJwt(token, options());
    } catch (e) {
      const error = e as CareLedgerError;
      expect(JWT_FAILURE_REASONS).toContain(error.details.reason);
      expect(error.message).not.toContain(token.split('.')[1]);
    }
  });

  test('a clock that is not a number is a programming error', async () => {
    expect(await reasonOf(async () => await verifyJwt(await good({}), options({ now: Number.NaN })))).toBe(
      'ERR_INVALID_INPUT:invalid-options',
    );
    expect(
      await reasonOf(async () => await verifyJwt(await good({}), options({ clockToleranceSeconds: -1 }))),
    ).toBe('ERR_INVALID_INPUT:invalid-options');
  });
});

describe('signJwt', () => {
  test('refuses public keys, unsupported algorithms and non-object claims', async () => {
    expect(await reasonOf(async () => await signJwt({}, es256.publicJwk))).toBe(
      'ERR_INVALID_INPUT:not-a-private-key',
    );
    expect(await reasonOf(async () => await signJwt({}, { ...keys.RS384.privateJwk, alg: 'RS256' }))).toBe(
      'ERR_INVALID_INPUT:unsupported-algorithm',
    );
    expect(await reasonOf(async () => await signJwt({}, { ...es256.privateJwk, alg: 'ES384' }))).toBe(
      'ERR_INVALID_INPUT:unsupported-algorithm',
    );
    expect(await reasonOf(async () => await signJwt([] as never, es256.privateJwk))).toBe(
      'ERR_INVALID_INPUT:malformed-payload',
    );
  });

  test('takes alg from the curve when the key has none, and kid from its thumbprint', async () => {
    const { alg: _alg, kid: _kid, ...bare } = keys.ES384.privateJwk;
    const { header } = parseUnverifiedJwt(await signJwt({}, bare));
    expect(header).toEqual({ alg: 'ES384', typ: 'JWT', kid: keys.ES384.publicJwk.kid });
  });
});
