/**
 * The FHIR vault's encryption: envelope encryption with per-patient AES-256-GCM data keys wrapped by
 * the node's key-encryption key, associated data binding each ciphertext to its record, and
 * crypto-shredding. Storage adapters implement `DataKeyStore` (SQLite: `storage/sqlite`).
 */
export {
  type DataKeyStore,
  type DestroyedDataKeys,
  NODE_KEY_PATIENT_ID,
  type StoredDataKey,
} from './data-key-store.js';
export { encodeFields } from './encode-fields.js';
export { KEY_WRAP_ALGORITHM, type KeyProvider, type WrappedKey } from './key-provider.js';
export {
  createLocalKeystore,
  DEFAULT_SCRYPT_COST,
  LocalKeystoreKeyProvider,
  type LocalKeystoreOptions,
  MIN_SCRYPT_COST,
  openLocalKeystore,
} from './local-keystore-key-provider.js';
export {
  type DataKey,
  decryptRecord,
  encodeRecordAssociatedData,
  encryptRecord,
  RECORD_FORMAT_VERSION,
  type RecordRef,
  type SealedRecord,
} from './record-cipher.js';
export {
  DEFAULT_DEK_CACHE_SIZE,
  dekContext,
  KEYED_HASH_PURPOSE,
  VaultCrypto,
  type VaultCryptoOptions,
} from './vault-crypto.js';
export { VAULT_ERROR_REASONS, type VaultErrorReason, vaultErrorReason } from './vault-errors.js';
