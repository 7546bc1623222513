import { hashTypedData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, test } from 'vitest';
import {
  createLedgerKeyProofTypedData,
  type LedgerKeyChallenge,
  verifyLedgerKeyProof,
} from './ledger-key-proof.js';

// Hardhat/anvil's well-known first development key (public test data, never a real key).
const account = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const challenge: LedgerKeyChallenge = {
  node: 'https://hospital.careledger.test',
  patient: 'Patient/example-1',
  key: account.address,
  nonce: `0x${'01'.repeat(32)}`,
  expiresAt: 1_900_000_000,
};

async function reason(task: Promise<unknown>): Promise<string> {
  const error = (await task.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: string; details?: { reason?: string } } | undefined;
  return `${error?.code}: ${error?.details?.reason ?? ''}`;
}

describe('the ledger key proof of possession', () => {
  test('signs what the portal, the CLI and the node agree on: this digest, pinned', () => {
    // A change here changes what every wallet signs: the portal, the CLI and old challenges must follow.
    expect(hashTypedData(createLedgerKeyProofTypedData(challenge))).toBe(
      '0x95ced79d918720b3120e61335c9c3ef7d8225b6f772ecc39fcc235c2ea9e52ed',
    );
  });

  test("accepts the key's own signature before expiry, and returns the key", async () => {
    const signature = await account.signTypedData(createLedgerKeyProofTypedData(challenge));
    await expect(
      verifyLedgerKeyProof(challenge, signature, { patientId: 'example-1', nowSeconds: 1_899_999_999 }),
    ).resolves.toBe(account.address);
  });

  test('refuses another patient, expiry, another signer, another node or nonce, and a malformed signature', async () => {
    const signature = await account.signTypedData(createLedgerKeyProofTypedData(challenge));
    const now = { patientId: 'example-1', nowSeconds: 1_800_000_000 };
    expect(await reason(verifyLedgerKeyProof(challenge, signature, { ...now, patientId: 'example-2' }))).toBe(
      'ERR_UNPROCESSABLE: challenge-for-another-patient',
    );
    expect(
      await reason(verifyLedgerKeyProof(challenge, signature, { ...now, nowSeconds: 1_900_000_000 })),
    ).toBe('ERR_UNPROCESSABLE: challenge-expired');
    const other = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
    const byOther = await other.signTypedData(createLedgerKeyProofTypedData(challenge));
    expect(await reason(verifyLedgerKeyProof(challenge, byOther, now))).toBe(
      'ERR_SIGNATURE_INVALID: signature-mismatch',
    );
    for (const changed of [
      { node: 'https://lab.careledger.test' },
      { nonce: `0x${'02'.repeat(32)}` as const },
    ]) {
      expect(await reason(verifyLedgerKeyProof({ ...challenge, ...changed }, signature, now))).toBe(
        'ERR_SIGNATURE_INVALID: signature-mismatch',
      );
    }
    expect(await reason(verifyLedgerKeyProof(challenge, '0x1234', now))).toBe('ERR_INVALID_INPUT: ');
  });
});
