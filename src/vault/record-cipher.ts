import { GCM_NONCE_SIZE, openAes256Gcm, sealAes256Gcm } from './aes-256-gcm.js';
import { checkWellFormed, encodeFields } from './encode-fields.js';
import { pooledRandomBytes } from './random-pool.js';
import { createDecryptFailedError } from './vault-errors.js';

/** Bumped whenever the associated data or the sealed layout changes; old versions stay readable. */
export const RECORD_FORMAT_VERSION = 1;
const RECORD_LABEL = 'careledger/vault/record';

/**
 * What a ciphertext is bound to. `patientId` is '' (NODE_KEY_PATIENT_ID) for resources outside any
 * patient compartment, such as Organization or Practitioner, which use the node-level data key.
 */
export interface RecordRef {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: string;
  readonly patientId: string;
}

/** An unwrapped data key and its version. */
export interface DataKey {
  readonly version: number;
  readonly key: Uint8Array;
}

export interface SealedRecord {
  readonly format: typeof RECORD_FORMAT_VERSION;
  /** Which version of the patient's data key sealed it. */
  readonly keyVersion: number;
  /** 12 random bytes. */
  readonly nonce: Uint8Array;
  /** Ciphertext followed by the 16-byte GCM tag. */
  readonly ciphertext: Uint8Array;
}

/**
 * The associated data of a record: format version, resource type, id, version id and patient id,
 * each length-prefixed (`encodeFields`), so a ciphertext moved to another resource, version or patient
 * fails to decrypt, and no two different refs encode alike.
 */
export function encodeRecordAssociatedData(ref: RecordRef): Uint8Array {
  // encodeFields([RECORD_LABEL, String(RECORD_FORMAT_VERSION), ...the ref]) with its constant
  // head encoded once: one per sealed or opened version, every read seals one (issue 16). The same
  // bytes (a test compares them), and the same refusal of a field that is not well-formed UTF-16.
  const { resourceType, id, versionId, patientId } = ref;
  checkWellFormed(resourceType);
  checkWellFormed(id);
  checkWellFormed(versionId);
  checkWellFormed(patientId);
  const sizes = [
    Buffer.byteLength(resourceType, 'utf8'),
    Buffer.byteLength(id, 'utf8'),
    Buffer.byteLength(versionId, 'utf8'),
    Buffer.byteLength(patientId, 'utf8'),
  ] as const;
  const out = Buffer.alloc(AD_HEAD.length + 16 + sizes[0] + sizes[1] + sizes[2] + sizes[3]);
  out.set(AD_HEAD, 0);
  let offset = AD_HEAD.length;
  offset = putField(out, offset, resourceType, sizes[0]);
  offset = putField(out, offset, id, sizes[1]);
  offset = putField(out, offset, versionId, sizes[2]);
  putField(out, offset, patientId, sizes[3]);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** The label and format version, as encodeFields writes them. */
const AD_HEAD = encodeFields([RECORD_LABEL, String(RECORD_FORMAT_VERSION)]);

function putField(out: Buffer, offset: number, field: string, size: number): number {
  out.writeUInt32BE(size, offset);
  out.write(field, offset + 4, size, 'utf8');
  return offset + 4 + size;
}

/** AES-256-GCM with a fresh 96-bit random nonce per record version (NIST SP 800-38D §8.2.2). */
export function encryptRecord(
  ref: RecordRef,
  plaintext: Uint8Array,
  dek: DataKey,
  randomBytes: (size: number) => Uint8Array = pooledRandomBytes,
): SealedRecord {
  const nonce = randomBytes(GCM_NONCE_SIZE);
  const ciphertext = sealAes256Gcm(dek.key, nonce, plaintext, encodeRecordAssociatedData(ref));
  return { format: RECORD_FORMAT_VERSION, keyVersion: dek.version, nonce, ciphertext };
}

/**
 * Decrypts a record sealed by `encryptRecord` for the same ref. Every failure (altered byte, swapped
 * field, wrong key or key version, unknown format) throws the same vague error with reason
 * `decrypt-failed`, naming only the record's ids.
 */
export function decryptRecord(ref: RecordRef, sealed: SealedRecord, dek: DataKey): Uint8Array {
  const failed = () =>
    createDecryptFailedError({ resourceType: ref.resourceType, id: ref.id, versionId: ref.versionId });
  if (sealed.format !== RECORD_FORMAT_VERSION || sealed.keyVersion !== dek.version) throw failed();
  try {
    return openAes256Gcm(dek.key, sealed.nonce, sealed.ciphertext, encodeRecordAssociatedData(ref));
  } catch {
    throw failed();
  }
}
