/**
 * EIP-712 typed data for patient consent, as ConsentRegistry.sol defines it. A patient's wallet signs
 * `Grant` or `Revoke` messages with viem's signTypedData; any member relays them.
 */
import { type Address, type Hex, hashTypedData, type TypedDataDomain } from 'viem';

export const CONSENT_DOMAIN_NAME = 'CareLedger ConsentRegistry';
export const CONSENT_DOMAIN_VERSION = '1';

/** Field order matters: it is the EIP-712 encodeType string the contract hashes. */
export const consentTypes = {
  Grant: [
    { name: 'patient', type: 'address' },
    { name: 'grantee', type: 'address' },
    { name: 'categories', type: 'uint256' },
    { name: 'purposes', type: 'uint256' },
    { name: 'notBefore', type: 'uint64' },
    { name: 'notAfter', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
  ],
  Revoke: [
    { name: 'patient', type: 'address' },
    { name: 'grantId', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const;

export interface ConsentGrant {
  readonly patient: Address;
  readonly grantee: Address;
  readonly categories: bigint;
  readonly purposes: bigint;
  /** Unix seconds, inclusive. */
  readonly notBefore: bigint;
  /** Unix seconds, exclusive. */
  readonly notAfter: bigint;
  readonly nonce: bigint;
}

export interface ConsentRevoke {
  readonly patient: Address;
  readonly grantId: Hex;
  readonly nonce: bigint;
}

export interface ConsentDomain extends TypedDataDomain {
  readonly name: typeof CONSENT_DOMAIN_NAME;
  readonly version: typeof CONSENT_DOMAIN_VERSION;
  readonly chainId: number;
  readonly verifyingContract: Address;
}

export function createConsentDomain(chainId: number | bigint, verifyingContract: Address): ConsentDomain {
  return {
    name: CONSENT_DOMAIN_NAME,
    version: CONSENT_DOMAIN_VERSION,
    chainId: Number(chainId),
    verifyingContract,
  };
}

/** The argument for viem's signTypedData / verifyTypedData for a grant. */
export function createGrantTypedData(domain: ConsentDomain, grant: ConsentGrant) {
  return { domain, types: consentTypes, primaryType: 'Grant', message: { ...grant } } as const;
}

/** The argument for viem's signTypedData / verifyTypedData for a revocation. */
export function createRevokeTypedData(domain: ConsentDomain, revoke: ConsentRevoke) {
  return { domain, types: consentTypes, primaryType: 'Revoke', message: { ...revoke } } as const;
}

/**
 * The grant id ConsentRegistry assigns: the EIP-712 digest keccak256(0x1901 ‖ domainSeparator ‖
 * hashStruct(grant)), i.e. exactly the hash the patient signed.
 */
export function computeGrantId(domain: ConsentDomain, grant: ConsentGrant): Hex {
  return hashTypedData(createGrantTypedData(domain, grant));
}

/** The digest a patient signs to revoke a grant. */
export function computeRevokeDigest(domain: ConsentDomain, revoke: ConsentRevoke): Hex {
  return hashTypedData(createRevokeTypedData(domain, revoke));
}

/** A patient's appointment of a healthcare proxy who may sign consent for them (ConsentRegistry.Delegation). */
export interface ConsentDelegation {
  readonly patient: Address;
  readonly delegate: Address;
  /** Unix seconds, inclusive. */
  readonly notBefore: bigint;
  /** Unix seconds, exclusive. */
  readonly notAfter: bigint;
  readonly nonce: bigint;
}

export const delegationTypes = {
  Delegation: [
    { name: 'patient', type: 'address' },
    { name: 'delegate', type: 'address' },
    { name: 'notBefore', type: 'uint64' },
    { name: 'notAfter', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const;

export function createDelegationTypedData(domain: ConsentDomain, delegation: ConsentDelegation) {
  return { domain, types: delegationTypes, primaryType: 'Delegation', message: { ...delegation } } as const;
}

/** The delegation id of a proxy appointment: its EIP-712 digest, as ConsentRegistry.hashDelegation. */
export function computeDelegationId(domain: ConsentDomain, delegation: ConsentDelegation): Hex {
  return hashTypedData(createDelegationTypedData(domain, delegation));
}
