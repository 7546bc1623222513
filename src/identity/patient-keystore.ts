import {
  createCipheriv,
  createDecipheriv,
  randomBytes as nodeRandomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { CareLedgerError } from '../errors/index.js';
import { deriveScryptKey, evaluateScryptParameters } from './derive-scrypt-key.js';

/**
 * The patient's secp256k1 ledger key as a Web3 Secret Storage v3 keystore (the Ethereum JSON
 * keystore; ethereum.org/developers/docs/data-structures-and-encoding/web3-secret-storage), so the
 * patient can take it to any Ethereum wallet and the node can keep a copy it cannot open:
 *
 * - DK = scrypt(passphrase as UTF-8, salt, n, r, p, dklen = 32) (the Definition's "scrypt" KDF);
 * - ciphertext = AES-128-CTR(key = DK[0..15], iv, private key) ("cipher: aes-128-ctr");
 * - mac = Keccak-256(DK[16..31] ‖ ciphertext) (the Definition's "mac", its change from version 1).
 *
 * The `address` field is not in the Definition; go-ethereum writes it (lower-case hex, no 0x) and
 * we require it: it is how the node ties a stored keystore to the patient's ledger address.
 */
export interface PatientKeystore {
  readonly address: string;
  readonly crypto: {
    readonly cipher: 'aes-128-ctr';
    readonly ciphertext: string;
    readonly cipherparams: { readonly iv: string };
    readonly kdf: 'scrypt';
    readonly kdfparams: {
      readonly dklen: 32;
      readonly n: number;
      readonly p: number;
      readonly r: number;
      readonly salt: string;
    };
    readonly mac: string;
  };
  readonly id: string;
  readonly version: 3;
}

/**
 * scrypt n for new keystores: 2^17 (128 MiB at r = 8, ~0.4 s here), as ethers.js writes and the
 * OWASP Password Storage Cheat Sheet's scrypt minimum; go-ethereum's StandardScryptN is 2^18.
 */
export const DEFAULT_PATIENT_KEYSTORE_N = 2 ** 17;
/**
 * The least n we write or accept by default (2^15: 32 MiB, ~0.1 s here). The node stores these
 * files, so a cheaper one would make offline guessing of the passphrase cheap for anyone who
 * steals the node's disk. Opening another tool's lighter keystore takes an explicit `minN`.
 */
export const MIN_PATIENT_KEYSTORE_N = 2 ** 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const DKLEN = 32;
const SALT_SIZE = 32;
const IV_SIZE = 16;
const UUID_SIZE = 16;
const PRIVATE_KEY_SIZE = 32;
const MAC_SIZE = 32;
const MIN_SALT_SIZE = 16;
const MAX_SALT_SIZE = 64;
/** Passphrase bounds for new keystores, in Unicode code points (NIST SP 800-63B §5.1.1.2 minimum). */
const MIN_PASSPHRASE_LENGTH = 8;
const MAX_PASSPHRASE_LENGTH = 1024;

export interface CreatePatientKeystoreOptions {
  /** scrypt n: a power of two from 2^15 to 2^18. Default 2^17. */
  readonly n?: number;
  /** Supplies the salt (32 bytes), iv (16) and id (16), in that order; inject only in tests. */
  readonly random?: (size: number) => Uint8Array;
}

export interface ReadPatientKeystoreOptions {
  /** The least scrypt n to accept, a power of two. Default 2^15. */
  readonly minN?: number;
}

/** A fresh ledger key, made on the patient's side (CLI or portal), never on the node. */
export function createPatientKey(): { privateKey: Hex; address: Address } {
  const privateKey = generatePrivateKey();
  return { privateKey, address: privateKeyToAccount(privateKey).address };
}

/** Encrypts `privateKey` under `passphrase`; runs on the patient's side. */
export async function createPatientKeystore(
  privateKey: Hex,
  passphrase: string,
  options: CreatePatientKeystoreOptions = {},
): Promise<PatientKeystore> {
  const address = addressOf(privateKey);
  if (typeof passphrase !== 'string') {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'passphrase must be a string', {
      details: { field: 'passphrase' },
    });
  }
  const length = [...passphrase].length;
  if (length < MIN_PASSPHRASE_LENGTH || length > MAX_PASSPHRASE_LENGTH) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `passphrase must be ${MIN_PASSPHRASE_LENGTH} to ${MAX_PASSPHRASE_LENGTH} characters long`,
      { details: { field: 'passphrase' } },
    );
  }
  const n = options.n ?? DEFAULT_PATIENT_KEYSTORE_N;
  const check = evaluateScryptParameters({ N: n, r: SCRYPT_R, p: SCRYPT_P });
  if (!check.ok || n < MIN_PATIENT_KEYSTORE_N) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'n must be a power of two from 2^15 to 2^18', {
      details: { field: 'n', n },
    });
  }
  const random = options.random ?? nodeRandomBytes;
  const salt = randomOfSize(random, SALT_SIZE);
  const iv = randomOfSize(random, IV_SIZE);
  const id = formatUuidV4(randomOfSize(random, UUID_SIZE));

  const derivedKey = await deriveScryptKey(passphrase, salt, { N: n, r: SCRYPT_R, p: SCRYPT_P }, DKLEN);
  try {
    const cipher = createCipheriv('aes-128-ctr', derivedKey.subarray(0, 16), iv);
    const plaintext = Buffer.from(privateKey.slice(2), 'hex');
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    plaintext.fill(0);
    return {
      address,
      crypto: {
        cipher: 'aes-128-ctr',
        ciphertext: ciphertext.toString('hex'),
        cipherparams: { iv: Buffer.from(iv).toString('hex') },
        kdf: 'scrypt',
        kdfparams: { dklen: DKLEN, n, p: SCRYPT_P, r: SCRYPT_R, salt: Buffer.from(salt).toString('hex') },
        mac: Buffer.from(keystoreMac(derivedKey, ciphertext)).toString('hex'),
      },
      id,
      version: 3,
    };
  } finally {
    derivedKey.fill(0);
  }
}

/**
 * Decrypts a keystore with the patient's passphrase and returns the private key. A wrong
 * passphrase and a damaged file both give ERR_DECRYPT with the same vague message (they cannot be
 * told apart, and saying more would help nobody but a guesser).
 */
export async function openPatientKeystore(
  keystore: unknown,
  passphrase: string,
  options: ReadPatientKeystoreOptions = {},
): Promise<Hex> {
  const parsed = parsePatientKeystore(keystore, options);
  if (typeof passphrase !== 'string') {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'passphrase must be a string', {
      details: { field: 'passphrase' },
    });
  }
  const { kdfparams } = parsed.crypto;
  const derivedKey = await deriveScryptKey(
    passphrase,
    Buffer.from(kdfparams.salt, 'hex'),
    { N: kdfparams.n, r: kdfparams.r, p: kdfparams.p },
    DKLEN,
  );
  let plaintext: Uint8Array;
  try {
    plaintext = decryptKeystoreCiphertext(parsed.crypto, derivedKey);
  } finally {
    derivedKey.fill(0);
  }
  const privateKey: Hex = `0x${Buffer.from(plaintext).toString('hex')}`;
  plaintext.fill(0);
  let address: string;
  try {
    address = privateKeyToAccount(privateKey).address.slice(2).toLowerCase();
  } catch {
    // No `cause`: the curve library's message quotes the rejected scalar, i.e. the key.
    throw new CareLedgerError('ERR_KEYSTORE', 'keystore holds no valid secp256k1 private key');
  }
  if (address !== parsed.address) {
    throw new CareLedgerError('ERR_KEYSTORE', 'keystore address does not match the key inside it');
  }
  return privateKey;
}

/**
 * Checks the MAC and decrypts: the part of opening after the KDF. Exported for the vector tests,
 * which feed it the Definition's published derived keys; not part of the module's public face.
 * @internal
 */
export function decryptKeystoreCiphertext(
  crypto: {
    readonly ciphertext: string;
    readonly cipherparams: { readonly iv: string };
    readonly mac: string;
  },
  derivedKey: Uint8Array,
): Uint8Array {
  const ciphertext = Buffer.from(crypto.ciphertext, 'hex');
  const expected = Buffer.from(crypto.mac, 'hex');
  const actual = keystoreMac(derivedKey, ciphertext);
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new CareLedgerError('ERR_DECRYPT', 'wrong passphrase or corrupted keystore');
  }
  const decipher = createDecipheriv(
    'aes-128-ctr',
    derivedKey.subarray(0, 16),
    Buffer.from(crypto.cipherparams.iv, 'hex'),
  );
  return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
}

/**
 * Validates a keystore's shape without the passphrase, so the node can check what it is asked to
 * store. Accepts the JSON text or the parsed value; refuses unknown fields, upper-case hex and
 * missing ones, naming the field (ERR_INVALID_INPUT). Returns a fresh copy holding only the
 * fields listed in `PatientKeystore`.
 */
export function parsePatientKeystore(
  value: unknown,
  options: ReadPatientKeystoreOptions = {},
): PatientKeystore {
  const minN = options.minN ?? MIN_PATIENT_KEYSTORE_N;
  if (!Number.isSafeInteger(minN) || minN < 2 || minN > 2 ** 30 || (minN & (minN - 1)) !== 0) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'minN must be a power of two', {
      details: { field: 'minN' },
    });
  }
  let root = value;
  if (typeof value === 'string') {
    try {
      root = JSON.parse(value);
    } catch {
      throw invalidField('(keystore)', 'is not JSON');
    }
  }
  const top = readObject(root, '(keystore)', ['address', 'crypto', 'id', 'version']);
  if (top.version !== 3) throw invalidField('version', 'must be 3');
  const id = readString(
    top,
    'id',
    '',
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    'a lower-case UUID',
  );
  const address = readString(top, 'address', '', /^[0-9a-f]{40}$/, '40 lower-case hex digits without 0x');

  const crypto = readObject(top.crypto, 'crypto', [
    'cipher',
    'cipherparams',
    'ciphertext',
    'kdf',
    'kdfparams',
    'mac',
  ]);
  if (crypto.cipher !== 'aes-128-ctr') throw invalidField('crypto.cipher', 'must be "aes-128-ctr"');
  if (crypto.kdf !== 'scrypt') throw invalidField('crypto.kdf', 'must be "scrypt"');
  const cipherparams = readObject(crypto.cipherparams, 'crypto.cipherparams', ['iv']);
  const iv = readHex(cipherparams, 'iv', 'crypto.cipherparams.', IV_SIZE, IV_SIZE);
  const ciphertext = readHex(crypto, 'ciphertext', 'crypto.', PRIVATE_KEY_SIZE, PRIVATE_KEY_SIZE);
  const mac = readHex(crypto, 'mac', 'crypto.', MAC_SIZE, MAC_SIZE);

  const kdfparams = readObject(crypto.kdfparams, 'crypto.kdfparams', ['dklen', 'n', 'p', 'r', 'salt']);
  if (kdfparams.dklen !== DKLEN) throw invalidField('crypto.kdfparams.dklen', 'must be 32');
  const salt = readHex(kdfparams, 'salt', 'crypto.kdfparams.', MIN_SALT_SIZE, MAX_SALT_SIZE);
  const { n, r, p } = kdfparams;
  if (typeof n !== 'number' || typeof r !== 'number' || typeof p !== 'number') {
    const field = typeof n !== 'number' ? 'n' : typeof r !== 'number' ? 'r' : 'p';
    throw invalidField(`crypto.kdfparams.${field}`, 'must be a number');
  }
  const check = evaluateScryptParameters({ N: n, r, p });
  if (!check.ok) throw invalidField(`crypto.kdfparams.${check.parameter.toLowerCase()}`, check.reason);
  if (n < minN) throw invalidField('crypto.kdfparams.n', `is below the accepted minimum ${minN}`);

  return {
    address,
    crypto: {
      cipher: 'aes-128-ctr',
      ciphertext,
      cipherparams: { iv },
      kdf: 'scrypt',
      kdfparams: { dklen: DKLEN, n, p, r, salt },
      mac,
    },
    id,
    version: 3,
  };
}

function keystoreMac(derivedKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const body = new Uint8Array(16 + ciphertext.length);
  body.set(derivedKey.subarray(16, 32), 0);
  body.set(ciphertext, 16);
  return keccak_256(body);
}

function addressOf(privateKey: Hex): string {
  if (typeof privateKey !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'privateKey must be 0x and 64 hex digits', {
      details: { field: 'privateKey' },
    });
  }
  try {
    return privateKeyToAccount(privateKey).address.slice(2).toLowerCase();
  } catch {
    // No `cause`: the curve library's message quotes the rejected scalar, i.e. the key.
    throw new CareLedgerError('ERR_INVALID_INPUT', 'privateKey is not a valid secp256k1 private key', {
      details: { field: 'privateKey' },
    });
  }
}

/** RFC 9562 §5.4: version 4, variant 10. */
function formatUuidV4(bytes: Uint8Array): string {
  const b = Uint8Array.from(bytes);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Buffer.from(b).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function randomOfSize(random: (size: number) => Uint8Array, size: number): Uint8Array {
  const bytes = random(size);
  if (!(bytes instanceof Uint8Array) || bytes.length !== size) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `random must return ${size} bytes`);
  }
  return bytes;
}

function invalidField(field: string, problem: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', `invalid patient keystore: ${field} ${problem}`, {
    details: { field },
  });
}

function readObject(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidField(path, 'must be an object');
  }
  const record = value as Record<string, unknown>;
  const prefix = path === '(keystore)' ? '' : `${path}.`;
  for (const key of Object.keys(record)) {
    if (!keys.includes(key)) throw invalidField(`${prefix}${key}`, 'is not a field of the format');
  }
  for (const key of keys) {
    if (!Object.hasOwn(record, key)) throw invalidField(`${prefix}${key}`, 'is missing');
  }
  return record;
}

function readString(
  record: Record<string, unknown>,
  key: string,
  prefix: string,
  pattern: RegExp,
  what: string,
): string {
  const value = record[key];
  if (typeof value !== 'string' || !pattern.test(value))
    throw invalidField(`${prefix}${key}`, `must be ${what}`);
  return value;
}

function readHex(
  record: Record<string, unknown>,
  key: string,
  prefix: string,
  min: number,
  max: number,
): string {
  const size = min === max ? `${min} bytes` : `${min} to ${max} bytes`;
  const value = readString(record, key, prefix, /^(?:[0-9a-f]{2})+$/, `lower-case hex of ${size}`);
  if (value.length / 2 < min || value.length / 2 > max)
    throw invalidField(`${prefix}${key}`, `must be ${size}`);
  return value;
}
