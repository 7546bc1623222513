import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { deriveWardDelegateKey } from './derive-ward-delegate-key.js';

describe('a delegate key per ward', () => {
  it('is stable for one ward, different for each ward and from the delegate’s own key', () => {
    const guardian = generatePrivateKey();
    const own = privateKeyToAccount(guardian).address;
    const [a, b] = [privateKeyToAccount(generatePrivateKey()), privateKeyToAccount(generatePrivateKey())];
    const forA = privateKeyToAccount(deriveWardDelegateKey(guardian, a.address)).address;
    expect(privateKeyToAccount(deriveWardDelegateKey(guardian, a.address)).address).toBe(forA);
    expect(deriveWardDelegateKey(guardian, a.address.toLowerCase() as `0x${string}`)).toBe(
      deriveWardDelegateKey(guardian, a.address),
    );
    const forB = privateKeyToAccount(deriveWardDelegateKey(guardian, b.address)).address;
    expect(new Set([own, forA, forB]).size).toBe(3);
    const other = privateKeyToAccount(deriveWardDelegateKey(generatePrivateKey(), a.address)).address;
    expect(other).not.toBe(forA);
  });
});
