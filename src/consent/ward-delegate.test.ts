import { getAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { createConsentDomain, createDelegateKeyTypedData } from '../ledger/eip712.js';
import { parseGuardianAttestation } from './parse-signed-consent.js';
import { createWardDelegate } from './ward-delegate.js';

const domain = createConsentDomain(31337, getAddress(`0x${'c0'.repeat(20)}`));
const now = () => 1_800_000_000_000;

describe('a ward delegate and its guardian attestation (decision 0021)', () => {
  it("derives one key per ward, none the guardian's own, whose acceptance a registrar's request carries", async () => {
    const own = generatePrivateKey();
    const [a, b] = [generatePrivateKey(), generatePrivateKey()].map((k) => privateKeyToAccount(k).address);
    const forA = await createWardDelegate(own, a as `0x${string}`, domain);
    const forB = await createWardDelegate(own, b as `0x${string}`, domain);
    expect(forA.delegate).not.toBe(forB.delegate);
    expect([forA.delegate, forB.delegate]).not.toContain(privateKeyToAccount(own).address);
    expect(privateKeyToAccount(forA.key).address).toBe(forA.delegate);
    const parsed = await parseGuardianAttestation(
      {
        patient: a,
        guardian: forA.delegate,
        notAfter: 1_900_000_000,
        guardianSignature: forA.delegateSignature,
      },
      domain,
      now,
    );
    expect(parsed).toEqual({
      patient: a,
      guardian: forA.delegate,
      notBefore: 1_800_000_000n,
      notAfter: 1_900_000_000n,
      guardianSignature: forA.delegateSignature,
    });
  });

  it('refuses an acceptance by another key, for another ward, or missing, naming the reason', async () => {
    const ward = privateKeyToAccount(generatePrivateKey()).address;
    const d = await createWardDelegate(generatePrivateKey(), ward, domain);
    const other = privateKeyToAccount(generatePrivateKey());
    const byOther = await other.signTypedData(
      createDelegateKeyTypedData(domain, { ward, delegate: d.delegate }),
    );
    const forAnotherWard = (await createWardDelegate(d.key, other.address, domain)).delegateSignature;
    for (const guardianSignature of [byOther, forAnotherWard, flipRecoveryId(d.delegateSignature)]) {
      const refused = await parseGuardianAttestation(
        { patient: ward, guardian: d.delegate, notAfter: 1_900_000_000, guardianSignature },
        domain,
        now,
      ).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CareLedgerError);
      expect((refused as CareLedgerError).code).toBe('ERR_SIGNATURE_INVALID');
      expect((refused as CareLedgerError).details).toEqual({ reason: 'delegate-signature-invalid' });
    }
    const missing = await parseGuardianAttestation(
      { patient: ward, guardian: d.delegate, notAfter: 1_900_000_000 },
      domain,
      now,
    ).catch((e: unknown) => e);
    expect((missing as CareLedgerError).code).toBe('ERR_INVALID_INPUT');
  });
});

/** The same signature with the other recovery id (27 <-> 28): it recovers another address. */
function flipRecoveryId(signature: string): string {
  return signature.replace(/..$/, signature.endsWith('1b') ? '1c' : '1b');
}
