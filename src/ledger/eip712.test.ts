import { readFileSync } from 'node:fs';
import {
  concat,
  domainSeparator,
  encodeAbiParameters,
  keccak256,
  recoverTypedDataAddress,
  toHex,
  verifyTypedData,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { encodeCategories, encodePurposes } from './codes.js';
import {
  type ConsentGrant,
  computeGrantId,
  computeRevokeDigest,
  computeTermsHash,
  consentTypes,
  createConsentDomain,
  createGrantTypedData,
  createRevokeTypedData,
} from './eip712.js';

// anvil's first default account: a public test key.
const patient = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const domain = createConsentDomain(31337n, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
const grant: ConsentGrant = {
  patient: patient.address,
  grantee: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  categories: encodeCategories(['medications', 'allergies']),
  purposes: encodePurposes(['TREAT', 'ETREAT']),
  salt: '0x1111111111111111111111111111111111111111111111111111111111111111',
  notBefore: 1_700_000_000n,
  notAfter: 1_800_000_000n,
  nonce: 0n,
};

function encodeTypeString(primaryType: keyof typeof consentTypes): string {
  const own = `${primaryType}(${consentTypes[primaryType].map((f) => `${f.type} ${f.name}`).join(',')})`;
  // EIP-712 encodeType: referenced struct types follow, sorted by name.
  return primaryType === 'Grant' ? own + encodeTypeString('Terms') : own;
}

describe('consent EIP-712 definitions', () => {
  it('match the type strings hashed by ConsentRegistry.sol', () => {
    const source = readFileSync(new URL('../../contracts/ConsentRegistry.sol', import.meta.url), 'utf8');
    expect(source).toContain(`"${encodeTypeString('Grant')}"`);
    expect(source).toContain(`"${encodeTypeString('Revoke')}"`);
    expect(source).toContain('"CareLedger ConsentRegistry"');
  });

  it('builds the domain', () => {
    expect(domain).toEqual({
      name: 'CareLedger ConsentRegistry',
      version: '1',
      chainId: 31337,
      verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    });
  });

  it('computes the grant id as keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(grant)) (EIP-712)', () => {
    const termsHash = keccak256(
      encodeAbiParameters(
        [{ type: 'bytes32' }, { type: 'uint256' }, { type: 'uint256' }, { type: 'bytes32' }],
        [keccak256(toHex(encodeTypeString('Terms'))), grant.categories, grant.purposes, grant.salt],
      ),
    );
    expect(computeTermsHash(grant)).toBe(termsHash);
    const typeHash = keccak256(toHex(encodeTypeString('Grant')));
    const structHash = keccak256(
      encodeAbiParameters(
        [
          { type: 'bytes32' },
          { type: 'address' },
          { type: 'address' },
          { type: 'bytes32' },
          { type: 'uint64' },
          { type: 'uint64' },
          { type: 'uint256' },
        ],
        [typeHash, grant.patient, grant.grantee, termsHash, grant.notBefore, grant.notAfter, grant.nonce],
      ),
    );
    const expected = keccak256(concat(['0x1901', domainSeparator({ domain }), structHash]));
    expect(computeGrantId(domain, grant)).toBe(expected);
  });

  it('changes the grant id with every field, the chain and the contract', () => {
    const base = computeGrantId(domain, grant);
    const variants = [
      computeGrantId(domain, { ...grant, nonce: 1n }),
      computeGrantId(domain, { ...grant, categories: grant.categories | 1n }),
      computeGrantId(domain, { ...grant, purposes: grant.purposes | 4n }),
      computeGrantId(domain, { ...grant, salt: `0x${'22'.repeat(32)}` }),
      computeGrantId(domain, { ...grant, notAfter: grant.notAfter + 1n }),
      computeGrantId(createConsentDomain(1, domain.verifyingContract), grant),
      computeGrantId(createConsentDomain(31337, '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512'), grant),
    ];
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('produces typed data that a patient signs and anyone verifies', async () => {
    const signature = await patient.signTypedData(createGrantTypedData(domain, grant));
    expect(
      await verifyTypedData({ address: patient.address, signature, ...createGrantTypedData(domain, grant) }),
    ).toBe(true);
    const revoke = { patient: patient.address, grantId: computeGrantId(domain, grant), nonce: 1n };
    const revokeSignature = await patient.signTypedData(createRevokeTypedData(domain, revoke));
    expect(
      await recoverTypedDataAddress({ signature: revokeSignature, ...createRevokeTypedData(domain, revoke) }),
    ).toBe(patient.address);
    expect(computeRevokeDigest(domain, revoke)).not.toBe(revoke.grantId);
  });
});
