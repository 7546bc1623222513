import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  computeGrantId,
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  createRevokeTypedData,
  encodeCategories,
  encodePurposes,
} from '../../src/ledger/index.js';

export interface SignedGrantRequest {
  readonly grantId: Hex;
  readonly patient: Address;
  readonly body: string;
  /** The same patient signs the revocation of this grant (nonce 1), as a relay body. */
  revoke(): Promise<string>;
}

/** A fresh patient key signs one grant (nonce 0), as a patient wallet would. */
export async function signGrantForNewPatient(options: {
  chainId: number;
  consentRegistry: Address;
  grantee: Address;
  categories?: string[];
  purposes?: string[];
  nowSeconds: number;
  /** The patient's key (hex); a fresh one by default. */
  patientKey?: Hex;
}): Promise<SignedGrantRequest> {
  const patient = privateKeyToAccount(options.patientKey ?? generatePrivateKey());
  const domain = createConsentDomain(options.chainId, options.consentRegistry);
  const grant = {
    patient: patient.address,
    grantee: options.grantee,
    categories: encodeCategories(options.categories ?? ['laboratory']),
    purposes: encodePurposes(options.purposes ?? ['TREAT']),
    salt: createGrantSalt(),
    notBefore: BigInt(options.nowSeconds - 60),
    notAfter: BigInt(options.nowSeconds + 86_400),
    nonce: 0n,
  };
  const signature = await patient.signTypedData(createGrantTypedData(domain, grant));
  const json = Object.fromEntries(
    Object.entries(grant).map(([key, value]) => [key, typeof value === 'bigint' ? value.toString() : value]),
  );
  const grantId = computeGrantId(domain, grant);
  return {
    grantId,
    patient: patient.address,
    body: JSON.stringify({ grant: json, signature }),
    async revoke() {
      const revoke = { patient: patient.address, grantId, nonce: 1n };
      const revokeSignature = await patient.signTypedData(createRevokeTypedData(domain, revoke));
      return JSON.stringify({ revoke: { ...revoke, nonce: '1' }, signature: revokeSignature });
    },
  };
}
