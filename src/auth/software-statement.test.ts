import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifySoftwareStatement } from './software-statement.js';
import { isAllowedRedirectUri } from './user-directory.js';

const publisher = await generateKeyPair('ES256');
const other = await generateKeyPair('ES256');
const trusted = [await exportJWK(publisher.publicKey)];
const metadata = {
  client_name: 'Signed App',
  redirect_uris: ['https://signed.example/cb'],
  software_id: 'app-1',
};
const sign = (
  key: Parameters<SignJWT['sign']>[0],
  claims: Record<string, unknown> = metadata,
  exp?: number,
) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setIssuer('https://publisher.example');
  return (exp === undefined ? jwt : jwt.setExpirationTime(exp)).sign(key);
};

describe('verifySoftwareStatement (RFC 7591 §2.3)', () => {
  it("returns the statement's metadata when a trusted key signed it", async () => {
    expect(await verifySoftwareStatement(await sign(publisher.privateKey), trusted)).toEqual({
      iss: 'https://publisher.example',
      clientName: 'Signed App',
      redirectUris: ['https://signed.example/cb'],
      softwareId: 'app-1',
    });
  });

  it('refuses another signer, an expired statement, missing metadata, an unsigned token and an empty trust list', async () => {
    const reason = async (statement: string, keys = trusted) =>
      verifySoftwareStatement(statement, keys, Date.now()).then(
        () => 'accepted',
        (error: { details: { reason: string } }) => error.details.reason,
      );
    expect(await reason(await sign(other.privateKey))).toBe('signature');
    expect(await reason(await sign(publisher.privateKey, metadata, Math.floor(Date.now() / 1000) - 60))).toBe(
      'signature',
    );
    expect(await reason(await sign(publisher.privateKey, { client_name: 'x' }))).toBe('metadata');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'x', ...metadata })).toString('base64url')}.`;
    expect(await reason(unsigned)).toBe('signature');
    expect(await reason(await sign(publisher.privateKey), [])).toBe('no-trusted-keys');
  });
});

describe('isAllowedRedirectUri (RFC 8252 §7.3, §8.3)', () => {
  it('allows https, and http only on loopback', () => {
    for (const uri of [
      'https://app.example/cb',
      'http://127.0.0.1:8080/cb',
      'http://[::1]/cb',
      'http://localhost/cb',
    ])
      expect(isAllowedRedirectUri(new URL(uri)), uri).toBe(true);
  });

  it('refuses other schemes even with a loopback host, fragments, user info and plain http', () => {
    for (const uri of [
      'javascript:alert(1)',
      'javascript://127.0.0.1/%0aalert(1)',
      'data:text/html,x',
      'file:///etc/passwd',
      'http://app.example/cb',
      'https://app.example/cb#x',
      'https://trusted.example@evil.example/cb',
      'http://127.0.0.1.evil.example/cb',
    ])
      expect(isAllowedRedirectUri(new URL(uri)), uri).toBe(false);
  });
});
