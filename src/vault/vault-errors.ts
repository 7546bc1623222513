import { CareLedgerError } from '../errors/index.js';

/**
 * The vault's failures: ERR_DECRYPT, ERR_GONE, ERR_KEYSTORE (and a few shared codes), each with a
 * stable `details.reason` to switch on. Messages and details never carry plaintext, keys or passphrases.
 */
export const VAULT_ERROR_REASONS = {
  /** `ERR_DECRYPT` (HTTP 500): a ciphertext, its associated data or its key do not match. */
  decryptFailed: 'decrypt-failed',
  /** `ERR_DECRYPT`: a wrapped data key does not open under its KEK and context. */
  unwrapFailed: 'unwrap-failed',
  /** `ERR_GONE` (HTTP 410): the patient's data key was destroyed (crypto-shredded). */
  erased: 'erased',
  /** `ERR_NOT_FOUND` (already right): no data key of that version exists. */
  noDataKey: 'no-data-key',
  /** `ERR_KEYSTORE`: wrong passphrase, or the keystore file was altered. */
  keystoreLocked: 'keystore-unlock-failed',
  /** `ERR_KEYSTORE`: the keystore file is not a keystore this code can read. */
  keystoreInvalid: 'keystore-invalid',
  /** `ERR_NOT_FOUND` (already right): no keystore file at the path. */
  keystoreMissing: 'keystore-missing',
  /** `ERR_CONFIG` (already right): creating a keystore where one exists. */
  keystoreExists: 'keystore-exists',
  /** `ERR_KEYSTORE`: a wrapped key names a KEK the keystore does not hold. */
  unknownKek: 'unknown-kek',
  /** `ERR_KEYSTORE`: a KEK operation the keystore refuses (e.g. retiring the current KEK). */
  kekInUse: 'kek-in-use',
  /** `ERR_STORAGE` (already right): concurrent data-key rotations kept colliding. */
  versionConflict: 'version-conflict',
} as const;

export type VaultErrorReason = (typeof VAULT_ERROR_REASONS)[keyof typeof VAULT_ERROR_REASONS];

/** The reason of a vault error, or undefined for any other value. Never throws. */
export function vaultErrorReason(error: unknown): VaultErrorReason | undefined {
  if (!(error instanceof CareLedgerError)) return undefined;
  const reason = error.details.reason;
  const known: readonly unknown[] = Object.values(VAULT_ERROR_REASONS);
  return known.includes(reason) ? (reason as VaultErrorReason) : undefined;
}

/**
 * One deliberately vague message for every record decryption failure, whatever the cause (altered
 * byte, swapped field, wrong key): like jose, telling them apart would help an attacker probe. No
 * `cause` is chained for the same reason. Only identifiers go in `details`.
 */
export function createDecryptFailedError(ids: Record<string, string | number> = {}): CareLedgerError {
  return new CareLedgerError('ERR_DECRYPT', 'the record could not be decrypted', {
    details: { ...ids, reason: VAULT_ERROR_REASONS.decryptFailed },
  });
}

export function createUnwrapFailedError(kekId: string): CareLedgerError {
  return new CareLedgerError('ERR_DECRYPT', 'the data key could not be unwrapped', {
    details: { kekId, reason: VAULT_ERROR_REASONS.unwrapFailed },
  });
}

export function createErasedError(): CareLedgerError {
  return new CareLedgerError('ERR_GONE', "the patient's records were erased", {
    details: { reason: VAULT_ERROR_REASONS.erased },
  });
}

export function createNoDataKeyError(version: number | undefined): CareLedgerError {
  return new CareLedgerError('ERR_NOT_FOUND', 'no data key exists for this patient', {
    details: {
      reason: VAULT_ERROR_REASONS.noDataKey,
      ...(version === undefined ? {} : { keyVersion: version }),
    },
  });
}

export function createKeystoreError(
  keystore: string,
  reason: typeof VAULT_ERROR_REASONS.keystoreLocked | typeof VAULT_ERROR_REASONS.keystoreInvalid,
): CareLedgerError {
  const message =
    reason === VAULT_ERROR_REASONS.keystoreLocked
      ? `cannot open the keystore ${keystore}: wrong passphrase, or the file was altered`
      : `cannot open the keystore ${keystore}: not a valid CareLedger keystore file`;
  return new CareLedgerError('ERR_KEYSTORE', message, { details: { keystore, reason } });
}

export function createUnknownKekError(kekId: string): CareLedgerError {
  return new CareLedgerError('ERR_KEYSTORE', `the keystore holds no key-encryption key ${kekId}`, {
    details: { kekId, reason: VAULT_ERROR_REASONS.unknownKek },
  });
}

export function createKekInUseError(kekId: string): CareLedgerError {
  return new CareLedgerError(
    'ERR_KEYSTORE',
    `the key-encryption key ${kekId} is current and cannot be retired`,
    {
      details: { kekId, reason: VAULT_ERROR_REASONS.kekInUse },
    },
  );
}
