import { expect, test } from 'vitest';
import * as vault from './index.js';

// Pins the vault's public face (viem style): adding or removing an export is a deliberate change.
test('exports', () => {
  expect(Object.keys(vault).sort()).toMatchInlineSnapshot(`
    [
      "DEFAULT_DEK_CACHE_SIZE",
      "DEFAULT_SCRYPT_COST",
      "KEYED_HASH_PURPOSE",
      "KEY_WRAP_ALGORITHM",
      "LocalKeystoreKeyProvider",
      "MIN_SCRYPT_COST",
      "NODE_KEY_PATIENT_ID",
      "RECORD_FORMAT_VERSION",
      "VAULT_ERROR_REASONS",
      "VaultCrypto",
      "createLocalKeystore",
      "decryptRecord",
      "dekContext",
      "encodeFields",
      "encodeRecordAssociatedData",
      "encryptRecord",
      "openLocalKeystore",
      "vaultErrorReason",
    ]
  `);
});
