import { sha256 } from '@noble/hashes/sha2.js';
import { hexToBytes, recoverAddress, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { reasonOf } from '../../test/support/reason-of.js';
import {
  addressOfPrivateKey,
  createPatientAssertion,
  signAddressJwt,
  verifyAddressJwt,
} from './address-jwt.js';

const AUD = 'http://127.0.0.1:7001/oauth/token';
const NOW = 1_800_000_000;

function freshKey() {
  const hex = generatePrivateKey();
  return { hex, bytes: hexToBytes(hex), account: privateKeyToAccount(hex) };
}

describe('address-signed JWTs (ES256K, RFC 8812)', () => {
  it('derives the same address as viem', () => {
    const key = freshKey();
    expect(addressOfPrivateKey(key.bytes)).toBe(key.account.address.toLowerCase());
  });

  it('signs with noble; viem recovers the same signer from the JWS signing input', async () => {
    const key = freshKey();
    const jwt = await createPatientAssertion(key.bytes, { audience: AUD, nowSeconds: NOW, jti: 'j-1' });
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const signature = Buffer.from(s, 'base64url');
    expect(signature.length).toBe(64);
    const hash = sha256(new TextEncoder().encode(`${h}.${p}`));
    const recovered = await Promise.all(
      [27, 28].map((v) =>
        recoverAddress({ hash: toHex(hash), signature: toHex(Buffer.concat([signature, Buffer.from([v])])) }),
      ),
    );
    expect(recovered).toContain(key.account.address);
    const verified = verifyAddressJwt(jwt, { audience: AUD, now: NOW + 10 });
    expect(verified.address).toBe(key.account.address.toLowerCase());
    expect(verified.claims.jti).toBe('j-1');
  });

  it('accepts a signature made by a viem account (the node signing as a member)', async () => {
    const key = freshKey();
    const jwt = await signAddressJwt(
      { iss: key.account.address, sub: key.account.address, aud: AUD, iat: NOW, exp: NOW + 60, jti: 'x' },
      key.account.address,
      async (hash) => hexToBytes(await key.account.sign({ hash: toHex(hash) })),
    );
    expect(verifyAddressJwt(jwt, { audience: AUD, now: NOW }).address).toBe(
      key.account.address.toLowerCase(),
    );
  });

  it('refuses, with a reason, what it must refuse', async () => {
    const key = freshKey();
    const other = freshKey();
    const good = await createPatientAssertion(key.bytes, { audience: AUD, nowSeconds: NOW, jti: 'j' });
    const verify =
      (token: string, now = NOW) =>
      () =>
        verifyAddressJwt(token, { audience: AUD, now });
    expect(reasonOf(verify(good, NOW + 600))).toBe('ERR_UNAUTHENTICATED:expired');
    expect(reasonOf(() => verifyAddressJwt(good, { audience: 'http://other/oauth/token', now: NOW }))).toBe(
      'ERR_UNAUTHENTICATED:wrong-audience',
    );
    // The claims say "other", the key is "key": recovery names someone else.
    const forged = await signAddressJwt(
      { iss: other.account.address, sub: other.account.address, aud: AUD, iat: NOW, exp: NOW + 60, jti: 'f' },
      other.account.address,
      async (hash) => hexToBytes(await key.account.sign({ hash: toHex(hash) })),
    );
    expect(reasonOf(verify(forged))).toBe('ERR_UNAUTHENTICATED:bad-signature');
    const [h, p, s] = good.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const altered = `${h}.${Buffer.from(JSON.stringify({ ...claims, exp: NOW + 100 })).toString('base64url')}.${s}`;
    expect(reasonOf(verify(altered))).toBe('ERR_UNAUTHENTICATED:bad-signature');
    const hs256 = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${p}.${s}`;
    expect(reasonOf(verify(hs256))).toBe('ERR_UNAUTHENTICATED:unsupported-algorithm');
    expect(reasonOf(verify('not.a-jwt'))).toBe('ERR_UNAUTHENTICATED:malformed');
    const long = await createPatientAssertion(key.bytes, {
      audience: AUD,
      nowSeconds: NOW,
      jti: 'l',
      lifetimeSeconds: 3600,
    });
    expect(reasonOf(verify(long))).toBe('ERR_UNAUTHENTICATED:lifetime-too-long');
    // A high-S twin of a valid signature is the same signature in another encoding: refused.
    const sig = Buffer.from(s, 'base64url');
    const n = BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
    const highS = (n - BigInt(`0x${sig.subarray(32).toString('hex')}`)).toString(16).padStart(64, '0');
    const twin = `${h}.${p}.${Buffer.concat([sig.subarray(0, 32), Buffer.from(highS, 'hex')]).toString('base64url')}`;
    expect(reasonOf(verify(twin))).toBe('ERR_UNAUTHENTICATED:bad-signature');
  });
});
