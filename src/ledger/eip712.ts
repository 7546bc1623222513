/**
 * EIP-712 typed data for patient consent, as ConsentRegistry.sol defines it. A patient's wallet signs
 * `Grant` or `Revoke` messages with viem's signTypedData; any member relays them.
 *
 * A Grant nests its terms (categories, purposes, a random salt) as the struct `Terms`. EIP-712 encodes a
 * nested struct as its hashStruct, so the chain receives only that hash, a salted commitment, while the
 * patient's wallet shows and signs the full terms (decision 0013).
 */
import { type Address, type Hex, hashStruct, hashTypedData, type TypedDataDomain } from 'viem';

export const CONSENT_DOMAIN_NAME = 'CareLedger ConsentRegistry';
export const CONSENT_DOMAIN_VERSION = '1';

/** Field order matters: it is the EIP-712 encodeType string the contract hashes. */
export const consentTypes = {
  Grant: [
    { name: 'patient', type: 'address' },
    { name: 'grantee', type: 'address' },
    { name: 'terms', type: 'Terms' },
    { name: 'notBefore', type: 'uint64' },
    { name: 'notAfter', type: 'uint64' },
    { name: 'nonce', type: 'uint256' },
  ],
  Terms: [
    { name: 'categories', type: 'uint256' },
    { name: 'purposes', type: 'uint256' },
    { name: 'salt', type: 'bytes32' },
  ],
  Revoke: [
    { name: 'patient', type: 'address' },
    { name: 'grantId', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const;

/**
 * A grant as the patient signs it: the full terms, held only by the patient and the members that
 * enforce the grant (its opening). The chain sees its `GrantCommitment`.
 */
export interface ConsentGrant {
  readonly patient: Address;
  readonly grantee: Address;
  readonly categories: bigint;
  readonly purposes: bigint;
  /** 32 random bytes, fresh per grant: without it the few possible terms could be hashed and compared. */
  readonly salt: Hex;
  /** Unix seconds, inclusive. */
  readonly notBefore: bigint;
  /** Unix seconds, exclusive. */
  readonly notAfter: bigint;
  readonly nonce: bigint;
}

/** A grant as ConsentRegistry.relayGrant takes and records it: the terms only as their commitment. */
export interface GrantCommitment {
  readonly patient: Address;
  readonly grantee: Address;
  /** hashStruct(Terms(categories, purposes, salt)), EIP-712. */
  readonly termsHash: Hex;
  readonly notBefore: bigint;
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
  return {
    domain,
    types: consentTypes,
    primaryType: 'Grant',
    message: {
      patient: grant.patient,
      grantee: grant.grantee,
      terms: { categories: grant.categories, purposes: grant.purposes, salt: grant.salt },
      notBefore: grant.notBefore,
      notAfter: grant.notAfter,
      nonce: grant.nonce,
    },
  } as const;
}

/**
 * A fresh salt for a grant's terms: 32 bytes from the platform's CSPRNG (Web Crypto, in browsers and
 * Node alike). A new one for every grant, or equal terms would give equal commitments.
 */
export function createGrantSalt(
  random: (bytes: Uint8Array) => Uint8Array = (b) => globalThis.crypto.getRandomValues(b),
): Hex {
  const bytes = random(new Uint8Array(32));
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The salted commitment to a grant's terms: EIP-712 hashStruct(Terms), what the chain records. */
export function computeTermsHash(grant: Pick<ConsentGrant, 'categories' | 'purposes' | 'salt'>): Hex {
  return hashStruct({
    types: consentTypes,
    primaryType: 'Terms',
    data: { categories: grant.categories, purposes: grant.purposes, salt: grant.salt },
  });
}

/** What is relayed to the chain for a signed grant: everything but the terms, and their commitment. */
export function toGrantCommitment(grant: ConsentGrant): GrantCommitment {
  return {
    patient: grant.patient,
    grantee: grant.grantee,
    termsHash: computeTermsHash(grant),
    notBefore: grant.notBefore,
    notAfter: grant.notAfter,
    nonce: grant.nonce,
  };
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

/**
 * A delegate key's acceptance of its one ward (ConsentRegistry.DelegateKey, decision 0021): signed by
 * the delegate key itself, it proves possession, and the contract then binds the key to this ward for
 * good. A proxy or guardian signs it with `deriveWardDelegateKey(ownKey, ward)`, never their own key.
 */
export interface DelegateKeyAcceptance {
  readonly ward: Address;
  readonly delegate: Address;
}

export const delegateKeyTypes = {
  DelegateKey: [
    { name: 'ward', type: 'address' },
    { name: 'delegate', type: 'address' },
  ],
} as const;

export function createDelegateKeyTypedData(domain: ConsentDomain, acceptance: DelegateKeyAcceptance) {
  return { domain, types: delegateKeyTypes, primaryType: 'DelegateKey', message: { ...acceptance } } as const;
}
