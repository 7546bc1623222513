import { type JsonWebKey, sign } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { encodeBase64url } from './base64url.js';
import {
  CLIENT_ASSERTION_FAILURE_REASONS,
  createClientAssertion,
  type VerifyClientAssertionOptions,
  verifyClientAssertion,
} from './client-assertion.js';
import { createSigningKey, type Jwk, type JwtPayload, signJwt } from './jwt.js';

async function reasonOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CareLedgerError) {
      expect(CLIENT_ASSERTION_FAILURE_REASONS).toContain(e.details.reason);
      return `${e.code}:${String(e.details.reason)}`;
    }
    throw e;
  }
  return 'ok';
}

const NOW = 1_700_000_000;
const TOKEN_ENDPOINT = 'https://node-a.example/auth/token';
const CLIENT = 'member-b';
const es384 = createSigningKey('ES384');
const rs384 = createSigningKey('RS384');
const es256 = createSigningKey('ES256');
const other = createSigningKey('ES384');

const registered: Record<string, Jwk[]> = {
  [CLIENT]: [es384.publicJwk, rs384.publicJwk, es256.publicJwk],
  'member-c': [other.publicJwk],
};

function setup() {
  const used = new Set<string>();
  const calls: [string, string, number][] = [];
  const options: VerifyClientAssertionOptions = {
    tokenEndpoint: TOKEN_ENDPOINT,
    now: NOW,
    clientJwks: (clientId) => registered[clientId],
    seenJti: (clientId, jti, exp) => {
      calls.push([clientId, jti, exp]);
      const key = `${clientId} ${jti}`;
      if (used.has(key)) return true;
      used.add(key);
      return false;
    },
  };
  return { options, calls };
}

function claims(extra: JwtPayload = {}): JwtPayload {
  return { iss: CLIENT, sub: CLIENT, aud: TOKEN_ENDPOINT, exp: NOW + 240, jti: 'jti-1', ...extra };
}

/** Signs any header and claims, to build assertions that createClientAssertion would never make. */
function forge(header: Record<string, unknown>, payload: unknown, privateJwk: Jwk): string {
  const input = `${encodeBase64url(JSON.stringify(header))}.${encodeBase64url(JSON.stringify(payload))}`;
  const signature = sign('sha384', Buffer.from(input), {
    key: privateJwk as JsonWebKey,
    format: 'jwk',
    dsaEncoding: 'ieee-p1363',
  });
  return `${input}.${encodeBase64url(signature)}`;
}

describe('verifyClientAssertion', () => {
  test.each([
    ['ES384', es384],
    ['RS384', rs384],
    ['ES256', es256],
  ])('accepts a %s assertion made by createClientAssertion', async (_alg, key) => {
    const { options, calls } = setup();
    const assertion = await createClientAssertion({
      clientId: CLIENT,
      tokenEndpoint: TOKEN_ENDPOINT,
      privateJwk: key.privateJwk,
      now: NOW,
      jti: 'abc',
    });
    expect(await verifyClientAssertion(assertion, options)).toEqual({ clientId: CLIENT });
    expect(calls).toEqual([[CLIENT, 'abc', NOW + 240]]);
  });

  test('createClientAssertion makes a random jti by default', async () => {
    const make = () =>
      createClientAssertion({
        clientId: CLIENT,
        tokenEndpoint: TOKEN_ENDPOINT,
        privateJwk: es384.privateJwk,
        now: NOW,
      });
    const { options } = setup();
    expect(await verifyClientAssertion(await make(), options)).toEqual({ clientId: CLIENT });
    expect(await verifyClientAssertion(await make(), options)).toEqual({ clientId: CLIENT });
  });

  test('refuses a replayed jti', async () => {
    const { options } = setup();
    const assertion = await signJwt(claims(), es384.privateJwk);
    expect(await reasonOf(async () => await verifyClientAssertion(assertion, options))).toBe('ok');
    expect(await reasonOf(async () => await verifyClientAssertion(assertion, options))).toBe(
      'ERR_UNAUTHENTICATED:replayed',
    );
    // The same jti from another client is that client's own.
    const fromC = await signJwt(claims({ iss: 'member-c', sub: 'member-c' }), other.privateJwk);
    expect(await reasonOf(async () => await verifyClientAssertion(fromC, options))).toBe('ok');
  });

  test('accepts aud as an array containing the token endpoint', async () => {
    const { options } = setup();
    const assertion = await signJwt(
      claims({ aud: ['https://elsewhere.example', TOKEN_ENDPOINT] }),
      es384.privateJwk,
    );
    expect(await reasonOf(async () => await verifyClientAssertion(assertion, options))).toBe('ok');
  });

  test.each<[string, JwtPayload, string]>([
    [
      'an unregistered client',
      claims({ iss: 'member-z', sub: 'member-z' }),
      'ERR_UNAUTHENTICATED:unknown-client',
    ],
    ['sub other than iss', claims({ sub: 'member-c' }), 'ERR_UNAUTHENTICATED:wrong-subject'],
    ['no sub', claims({ sub: undefined }), 'ERR_UNAUTHENTICATED:missing-claim'],
    ['no iss', claims({ iss: undefined }), 'ERR_UNAUTHENTICATED:missing-claim'],
    [
      'another audience',
      claims({ aud: 'https://node-b.example/auth/token' }),
      'ERR_UNAUTHENTICATED:wrong-audience',
    ],
    [
      'the FHIR base as audience',
      claims({ aud: 'https://node-a.example/fhir' }),
      'ERR_UNAUTHENTICATED:wrong-audience',
    ],
    ['no aud', claims({ aud: undefined }), 'ERR_UNAUTHENTICATED:missing-claim'],
    ['no exp', claims({ exp: undefined }), 'ERR_UNAUTHENTICATED:missing-claim'],
    ['an exp in the past', claims({ exp: NOW - 120 }), 'ERR_UNAUTHENTICATED:expired'],
    ['an exp ten minutes ahead', claims({ exp: NOW + 600 }), 'ERR_UNAUTHENTICATED:lifetime-too-long'],
    ['no jti', claims({ jti: undefined }), 'ERR_UNAUTHENTICATED:missing-claim'],
    ['an empty jti', claims({ jti: '' }), 'ERR_UNAUTHENTICATED:malformed'],
  ])('refuses %s', async (_name, payload, expected) => {
    const { options, calls } = setup();
    expect(
      await reasonOf(
        async () => await verifyClientAssertion(await signJwt(payload, es384.privateJwk), options),
      ),
    ).toBe(expected);
    expect(calls).toEqual([]);
  });

  test('allows exp up to five minutes ahead, plus the clock tolerance', async () => {
    const { options } = setup();
    const at = (exp: number, jti: string, clockToleranceSeconds?: number) =>
      reasonOf(
        async () =>
          await verifyClientAssertion(await signJwt(claims({ exp, jti }), es384.privateJwk), {
            ...options,
            clockToleranceSeconds,
          }),
      );
    expect(await at(NOW + 300, 'a', 0)).toBe('ok');
    expect(await at(NOW + 301, 'b', 0)).toBe('ERR_UNAUTHENTICATED:lifetime-too-long');
    expect(await at(NOW + 360, 'c')).toBe('ok');
    expect(await at(NOW + 361, 'd')).toBe('ERR_UNAUTHENTICATED:lifetime-too-long');
  });

  test('refuses algorithms SMART Backend Services does not allow, before looking up the client', async () => {
    const { options } = setup();
    let looked = false;
    const none = `${encodeBase64url('{"alg":"none","kid":"k"}')}.${encodeBase64url(JSON.stringify(claims()))}.`;
    const hs = `${encodeBase64url('{"alg":"HS256","kid":"k"}')}.${encodeBase64url(JSON.stringify(claims()))}.AAAA`;
    for (const assertion of [none, hs]) {
      expect(
        await reasonOf(
          async () =>
            await verifyClientAssertion(assertion, {
              ...options,
              clientJwks: (id) => {
                looked = true;
                return registered[id];
              },
            }),
        ),
      ).toBe('ERR_UNAUTHENTICATED:unsupported-algorithm');
    }
    expect(looked).toBe(false);
  });

  test('requires kid in the header', async () => {
    const { options } = setup();
    const assertion = forge({ alg: 'ES384', typ: 'JWT' }, claims(), es384.privateJwk);
    expect(await reasonOf(async () => await verifyClientAssertion(assertion, options))).toBe(
      'ERR_UNAUTHENTICATED:malformed',
    );
  });

  test("refuses a key registered to another client, and another client's kid", async () => {
    const { options } = setup();
    // member-c's key, claiming to be member-b: its kid is not in member-b's JWK Set.
    expect(
      await reasonOf(
        async () => await verifyClientAssertion(await signJwt(claims(), other.privateJwk), options),
      ),
    ).toBe('ERR_UNAUTHENTICATED:unknown-key');
  });

  test('refuses a bad signature without spending the jti', async () => {
    const { options, calls } = setup();
    const impostor = { ...createSigningKey('ES384').privateJwk, kid: es384.publicJwk.kid };
    expect(
      await reasonOf(async () => await verifyClientAssertion(await signJwt(claims(), impostor), options)),
    ).toBe('ERR_SIGNATURE_INVALID:bad-signature');
    expect(calls).toEqual([]);
    expect(
      await reasonOf(
        async () => await verifyClientAssertion(await signJwt(claims(), es384.privateJwk), options),
      ),
    ).toBe('ok');
  });

  test('refuses what is not a JWT', async () => {
    const { options } = setup();
    expect(await reasonOf(async () => await verifyClientAssertion('not-a-jwt', options))).toBe(
      'ERR_UNAUTHENTICATED:malformed',
    );
  });
});

describe('createClientAssertion', () => {
  test('sets the claims SMART Backend Services asks for', async () => {
    const assertion = await createClientAssertion({
      clientId: CLIENT,
      tokenEndpoint: TOKEN_ENDPOINT,
      privateJwk: es384.privateJwk,
      now: NOW + 0.7,
      jti: 'j',
      lifetimeSeconds: 300,
    });
    const [header, payload] = assertion
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')));
    expect(header).toEqual({ alg: 'ES384', typ: 'JWT', kid: es384.publicJwk.kid });
    expect(payload).toEqual({
      iss: CLIENT,
      sub: CLIENT,
      aud: TOKEN_ENDPOINT,
      exp: NOW + 300,
      iat: NOW,
      jti: 'j',
    });
  });

  test.each([
    ['a lifetime over five minutes', { lifetimeSeconds: 301 }],
    ['a zero lifetime', { lifetimeSeconds: 0 }],
    ['an empty client id', { clientId: '' }],
    ['an empty jti', { jti: '' }],
    ['a clock that is not a number', { now: Number.NaN }],
  ])('refuses %s', async (_name, extra) => {
    await expect(
      createClientAssertion({
        clientId: CLIENT,
        tokenEndpoint: TOKEN_ENDPOINT,
        privateJwk: es384.privateJwk,
        now: NOW,
        ...extra,
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT', details: { reason: 'invalid-options' } });
  });
});
