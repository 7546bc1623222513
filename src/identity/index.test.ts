import { describe, expect, it } from 'vitest';
import * as identity from './index.js';

// Pins the identity module's public face (viem style): adding or removing an export is a deliberate
// change. The GF(2^8) helpers, the scrypt wrapper and decryptKeystoreCiphertext stay internal.
describe('identity', () => {
  it('exports', () => {
    expect(Object.keys(identity).sort()).toMatchInlineSnapshot(`
      [
        "DEFAULT_PATIENT_KEYSTORE_N",
        "LEDGER_KEY_PROOF_DOMAIN",
        "MAX_PASSWORD_LENGTH",
        "MAX_SECRET_SIZE",
        "MIN_PASSWORD_LENGTH",
        "MIN_PATIENT_KEYSTORE_N",
        "TOTP_PERIOD_SECONDS",
        "combineShares",
        "createLedgerKeyProofTypedData",
        "createPasswordHash",
        "createPatientKey",
        "createPatientKeystore",
        "createTotpSecret",
        "createTotpUri",
        "encodeBase32",
        "evaluateTotp",
        "formatShare",
        "generateTotp",
        "isPasswordCorrect",
        "ledgerKeyProofError",
        "openPatientKeystore",
        "parseBase32",
        "parsePasswordHash",
        "parsePatientKeystore",
        "parseShare",
        "splitSecret",
        "verifyLedgerKeyProof",
      ]
    `);
  });
});
