import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  computeGrantId,
  createConsentDomain,
  createGrantTypedData,
  encodeCategories,
  encodePurposes,
} from '../../src/ledger/index.js';

export interface SignedGrantRequest {
  readonly grantId: Hex;
  readonly patient: Address;
  readonly body: string;
}

/** A fresh patient key signs one grant (nonce 0), as a patient wallet would. */
export async function signGrantForNewPatient(options: {
  chainId: number;
  consentRegistry: Address;
  grantee: Address;
  categories?: string[];
  purposes?: string[];
  nowSeconds: number;
}): Promise<SignedGrantRequest> {
  const patient = privateKeyToAccount(generatePrivateKey());
  const domain = createConsentDomain(options.chainId, options.consentRegistry);
  const grant = {
    patient: patient.address,
    grantee: options.grantee,
    categories: encodeCategories(options.categories ?? ['laboratory']),
    purposes: encodePurposes(options.purposes ?? ['TREAT']),
    notBefore: BigInt(options.nowSeconds - 60),
    notAfter: BigInt(options.nowSeconds + 86_400),
    nonce: 0n,
  };
  const signature = await patient.signTypedData(createGrantTypedData(domain, grant));
  const json = Object.fromEntries(
    Object.entries(grant).map(([key, value]) => [key, typeof value === 'bigint' ? value.toString() : value]),
  );
  return {
    grantId: computeGrantId(domain, grant),
    patient: patient.address,
    body: JSON.stringify({ grant: json, signature }),
  };
}
