import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { addressOfPublicKey, enodeUrl, validatorKeyFromPrivate } from './validator-key.js';

// anvil's first well-known development key (public; never used for anything real).
const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

describe('validator keys', () => {
  it('derives the address and the 64-byte node id of a secp256k1 key', () => {
    const key = validatorKeyFromPrivate(DEV_KEY);
    expect(key.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    // viem's uncompressed public key is 0x04 ‖ X ‖ Y; the node id drops the 0x04.
    expect(key.publicKey).toBe(`0x${privateKeyToAccount(DEV_KEY).publicKey.slice(4)}`);
    expect(addressOfPublicKey(key.publicKey)).toBe(key.address);
  });

  it('writes the enode URL Besu expects', () => {
    const key = validatorKeyFromPrivate(DEV_KEY);
    expect(enodeUrl(key.publicKey, '10.0.0.11', 30303)).toBe(
      `enode://${key.publicKey.slice(2)}@10.0.0.11:30303`,
    );
  });

  it('refuses a public key that is not a point on the curve', () => {
    expect(() => addressOfPublicKey(`0x${'11'.repeat(64)}`)).toThrow();
  });
});
