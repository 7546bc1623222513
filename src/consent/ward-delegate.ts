import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type ConsentDomain, createDelegateKeyTypedData } from '../ledger/eip712.js';
import { deriveWardDelegateKey } from './derive-ward-delegate-key.js';

/** What a proxy or guardian hands over to be registered for one ward (decision 0021). */
export interface WardDelegate {
  readonly ward: Address;
  /** The address of their delegate key for this ward: the only one of theirs the ledger will show. */
  readonly delegate: Address;
  /** The delegate key's DelegateKey(ward, delegate) acceptance, which ConsentRegistry requires. */
  readonly delegateSignature: Hex;
}

/**
 * A proxy's or guardian's delegate key for `ward` (HKDF of their own key and the ward's address), its
 * address, and its signed acceptance of this ward. The registrar (POST /admin/guardians) or the ward
 * (POST /ledger/consent/delegations) registers the delegate address; the proxy or guardian then signs
 * the ward's consent with `key`. Their own key and address never leave their machine.
 */
export async function createWardDelegate(
  ownKey: Hex,
  ward: Address,
  domain: ConsentDomain,
): Promise<WardDelegate & { readonly key: Hex }> {
  const key = deriveWardDelegateKey(ownKey, ward);
  const account = privateKeyToAccount(key);
  const delegateSignature = await account.signTypedData(
    createDelegateKeyTypedData(domain, { ward, delegate: account.address }),
  );
  return { ward, delegate: account.address, delegateSignature, key };
}
