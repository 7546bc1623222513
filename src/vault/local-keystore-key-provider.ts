import { createHmac, hkdfSync, randomBytes as nodeRandomBytes, scrypt } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { CareLedgerError } from '../errors/index.js';
import { writeFileDurably } from '../storage/write-file-durably.js';
import { AES_256_KEY_SIZE, GCM_NONCE_SIZE, openAes256Gcm, sealAes256Gcm } from './aes-256-gcm.js';
import { encodeFields } from './encode-fields.js';
import { KEY_WRAP_ALGORITHM, type KeyProvider, type WrappedKey } from './key-provider.js';
import { pooledRandomBytes } from './random-pool.js';
import {
  createKekInUseError,
  createKeystoreError,
  createUnknownKekError,
  createUnwrapFailedError,
  VAULT_ERROR_REASONS,
} from './vault-errors.js';

/**
 * The keystore file, version 1 (JSON, UTF-8, mode 0600):
 *
 * ```json
 * { "format": "careledger-keystore", "version": 1,
 *   "kdf": { "name": "scrypt", "N": 131072, "r": 8, "p": 1, "salt": "<base64, 16 bytes>" },
 *   "cipher": { "name": "aes-256-gcm", "nonce": "<base64, 12 bytes>", "ciphertext": "<base64>" } }
 * ```
 *
 * The ciphertext (with its tag) holds the secrets as JSON: the node secret, the KEKs with their
 * creation times and which one is current. Everything outside it is bound as associated data, so
 * editing any field makes the file fail to open, exactly like a wrong passphrase.
 */
const FORMAT = 'careledger-keystore';
const VERSION = 1;
const SALT_SIZE = 16;

/** OWASP Password Storage Cheat Sheet: scrypt N=2^17, r=8, p=1 (128 MiB, ~0.4 s here). */
export const DEFAULT_SCRYPT_COST = 2 ** 17;
/** The floor for new and opened keystores (2^15: 32 MiB, ~0.1 s here); tests may use it. */
export const MIN_SCRYPT_COST = 2 ** 15;
/** The ceiling (2^18: 256 MiB), so an altered file cannot make us allocate gigabytes. */
const MAX_SCRYPT_COST = 2 ** 18;
const SCRYPT_R = 8;
const SCRYPT_P = 1;

const WRAP_LABEL = 'careledger/key-wrap/v1';
const NODE_SECRET_SALT = new TextEncoder().encode('careledger/node-secret/v1');

export interface LocalKeystoreOptions {
  /** scrypt N for a new keystore: a power of two, at least 2^15. Default 2^17. */
  readonly scryptCost?: number;
  readonly randomBytes?: (size: number) => Uint8Array;
  readonly now?: () => number;
}

interface Kek {
  readonly id: string;
  readonly key: Uint8Array;
  readonly createdAt: number;
}

interface Secrets {
  readonly nodeSecret: Uint8Array;
  readonly currentKekId: string;
  readonly keks: readonly Kek[];
}

interface KdfParams {
  readonly N: number;
  readonly salt: Uint8Array;
}

/** Creates a keystore with a fresh KEK and node secret; refuses to overwrite an existing file. */
export async function createLocalKeystore(
  path: string,
  passphrase: string,
  options: LocalKeystoreOptions = {},
): Promise<LocalKeystoreKeyProvider> {
  const random = options.randomBytes ?? defaultRandomBytes;
  const now = options.now ?? Date.now;
  const cost = options.scryptCost ?? DEFAULT_SCRYPT_COST;
  if (!isValidCost(cost)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'scrypt cost must be a power of two from 2^15 to 2^18', {
      details: { scryptCost: cost },
    });
  }
  if (await exists(path)) {
    throw new CareLedgerError('ERR_CONFIG', `a keystore already exists at ${path}`, {
      details: { keystore: path, reason: VAULT_ERROR_REASONS.keystoreExists },
    });
  }
  const kdf: KdfParams = { N: cost, salt: random(SALT_SIZE) };
  const passphraseKey = await deriveKey(checkPassphrase(passphrase), kdf);
  const kek = newKek(random, now);
  const secrets: Secrets = { nodeSecret: random(32), currentKekId: kek.id, keks: [kek] };
  writeKeystore(path, kdf, passphraseKey, secrets, random);
  return new LocalKeystoreKeyProvider(path, kdf, passphraseKey, secrets, random, now);
}

/**
 * Opens a keystore. A wrong passphrase and an altered file fail alike (reason
 * `keystore-unlock-failed`); a file that is not a keystore at all fails with `keystore-invalid`. The
 * message names the keystore and nothing else.
 */
export async function openLocalKeystore(
  path: string,
  passphrase: string,
  options: Omit<LocalKeystoreOptions, 'scryptCost'> = {},
): Promise<LocalKeystoreKeyProvider> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CareLedgerError('ERR_NOT_FOUND', `no keystore at ${path}`, {
        details: { keystore: path, reason: VAULT_ERROR_REASONS.keystoreMissing },
      });
    }
    throw new CareLedgerError('ERR_STORAGE', `cannot read the keystore ${path}`, {
      cause,
      details: { keystore: path },
    });
  }
  const file = parseKeystoreFile(text, path);
  const passphraseKey = await deriveKey(checkPassphrase(passphrase), file.kdf);
  let plaintext: Uint8Array;
  try {
    plaintext = openAes256Gcm(passphraseKey, file.nonce, file.ciphertext, headerAad(file.kdf));
  } catch {
    throw createKeystoreError(path, VAULT_ERROR_REASONS.keystoreLocked);
  }
  const secrets = parseSecrets(plaintext, path);
  plaintext.fill(0);
  return new LocalKeystoreKeyProvider(
    path,
    file.kdf,
    passphraseKey,
    secrets,
    options.randomBytes ?? defaultRandomBytes,
    options.now ?? Date.now,
  );
}

/**
 * The default KeyProvider: KEKs held in memory once the keystore is opened. Rotation adds a KEK and
 * makes it current; old KEKs stay to unwrap until `retireKek` after every data key was rewrapped.
 * Every change is written to disk (temp file, fsync, rename) before it takes effect in memory, so a
 * key is never wrapped under a KEK that a crash could lose.
 */
export class LocalKeystoreKeyProvider implements KeyProvider {
  private secrets: Secrets;

  /** @internal use `createLocalKeystore` / `openLocalKeystore`. */
  constructor(
    readonly path: string,
    private readonly kdf: KdfParams,
    /** Kept so rotations can re-encrypt the file without asking for the passphrase again. */
    private readonly passphraseKey: Uint8Array,
    secrets: Secrets,
    private readonly random: (size: number) => Uint8Array,
    private readonly now: () => number,
  ) {
    this.secrets = secrets;
  }

  get keyId(): string {
    return this.secrets.currentKekId;
  }

  /** Ids of every KEK held, oldest first. */
  get kekIds(): readonly string[] {
    return this.secrets.keks.map((kek) => kek.id);
  }

  async wrapKey(dek: Uint8Array, context: string): Promise<WrappedKey> {
    if (dek.length !== AES_256_KEY_SIZE) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a data key must be 32 bytes', {
        details: { length: dek.length },
      });
    }
    const kek = this.kek(this.secrets.currentKekId);
    // A nonce per new patient's key: from the process's pool of CSPRNG bytes unless randomness was
    // injected (tests), as the records' own GCM nonces are (decision 0034).
    const nonce =
      this.random === defaultRandomBytes ? pooledRandomBytes(GCM_NONCE_SIZE) : this.random(GCM_NONCE_SIZE);
    const ciphertext = sealAes256Gcm(kek.key, nonce, dek, wrapAad(kek.id, context));
    return { kekId: kek.id, algorithm: KEY_WRAP_ALGORITHM, nonce, ciphertext };
  }

  async unwrapKey(wrapped: WrappedKey, context: string): Promise<Uint8Array> {
    if (wrapped.algorithm !== KEY_WRAP_ALGORITHM) throw createUnwrapFailedError(wrapped.kekId);
    const kek = this.kek(wrapped.kekId);
    let dek: Uint8Array;
    try {
      dek = openAes256Gcm(kek.key, wrapped.nonce, wrapped.ciphertext, wrapAad(kek.id, context));
    } catch {
      throw createUnwrapFailedError(wrapped.kekId);
    }
    if (dek.length !== AES_256_KEY_SIZE) throw createUnwrapFailedError(wrapped.kekId);
    return dek;
  }

  /** Unwraps with whichever KEK wrapped it and wraps again under the current KEK. */
  async rewrapKey(wrapped: WrappedKey, context: string): Promise<WrappedKey> {
    if (wrapped.kekId === this.keyId) return wrapped;
    const dek = await this.unwrapKey(wrapped, context);
    try {
      return await this.wrapKey(dek, context);
    } finally {
      dek.fill(0);
    }
  }

  async deriveSecret(purpose: string): Promise<Uint8Array> {
    // RFC 5869: HKDF-SHA-256 with a fixed salt and the purpose as `info`, one independent key each.
    return new Uint8Array(hkdfSync('sha256', this.secrets.nodeSecret, NODE_SECRET_SALT, purpose, 32));
  }

  /** Adds a fresh KEK, makes it current and returns its id. Old KEKs stay until retired. */
  async rotateKek(): Promise<string> {
    const kek = newKek(this.random, this.now);
    const next: Secrets = { ...this.secrets, currentKekId: kek.id, keks: [...this.secrets.keks, kek] };
    this.save(next);
    this.secrets = next;
    return kek.id;
  }

  /**
   * Deletes an old KEK from the keystore, after `VaultCrypto.rewrapDataKeys` moved every data key off
   * it. Anything still wrapped under it (including in old backups of the vault database, and the
   * wrapped keys of erased patients there) can then never be unwrapped again.
   */
  async retireKek(kekId: string): Promise<void> {
    if (kekId === this.secrets.currentKekId) throw createKekInUseError(kekId);
    this.kek(kekId);
    const next: Secrets = { ...this.secrets, keks: this.secrets.keks.filter((kek) => kek.id !== kekId) };
    this.save(next);
    this.secrets = next;
  }

  private save(secrets: Secrets): void {
    writeKeystore(this.path, this.kdf, this.passphraseKey, secrets, this.random);
  }

  private kek(kekId: string): Kek {
    const kek = this.secrets.keks.find((candidate) => candidate.id === kekId);
    if (kek === undefined) throw createUnknownKekError(kekId);
    return kek;
  }
}

/** Encrypts the secrets under the passphrase key and replaces the file durably, mode 0600. */
function writeKeystore(
  path: string,
  kdf: KdfParams,
  passphraseKey: Uint8Array,
  secrets: Secrets,
  random: (size: number) => Uint8Array,
): void {
  const plaintext = new TextEncoder().encode(
    JSON.stringify({
      nodeSecret: toBase64(secrets.nodeSecret),
      currentKekId: secrets.currentKekId,
      keks: secrets.keks.map((kek) => ({ id: kek.id, key: toBase64(kek.key), createdAt: kek.createdAt })),
    }),
  );
  const nonce = random(GCM_NONCE_SIZE);
  const ciphertext = sealAes256Gcm(passphraseKey, nonce, plaintext, headerAad(kdf));
  plaintext.fill(0);
  const file = {
    format: FORMAT,
    version: VERSION,
    kdf: { name: 'scrypt', N: kdf.N, r: SCRYPT_R, p: SCRYPT_P, salt: toBase64(kdf.salt) },
    cipher: { name: 'aes-256-gcm', nonce: toBase64(nonce), ciphertext: toBase64(ciphertext) },
  };
  writeFileDurably(path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
}

function wrapAad(kekId: string, context: string): Uint8Array {
  return encodeFields([WRAP_LABEL, KEY_WRAP_ALGORITHM, kekId, context]);
}

function headerAad(kdf: KdfParams): Uint8Array {
  return encodeFields([
    FORMAT,
    String(VERSION),
    'scrypt',
    String(kdf.N),
    String(SCRYPT_R),
    String(SCRYPT_P),
    toBase64(kdf.salt),
    'aes-256-gcm',
  ]);
}

function newKek(random: (size: number) => Uint8Array, now: () => number): Kek {
  const key = random(AES_256_KEY_SIZE);
  // The id is a keyed fingerprint of the KEK: unique across nodes, and reveals nothing about it.
  const id = `kek-${createHmac('sha256', key).update('careledger/kek-id/v1').digest('hex').slice(0, 16)}`;
  return { id, key, createdAt: now() };
}

async function deriveKey(passphrase: string, kdf: KdfParams): Promise<Uint8Array> {
  // scrypt needs 128·N·r bytes (RFC 7914 §2); Node's default maxmem (32 MiB) is just below N=2^15.
  const maxmem = 256 * kdf.N * SCRYPT_R;
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase,
      kdf.salt,
      AES_256_KEY_SIZE,
      { N: kdf.N, r: SCRYPT_R, p: SCRYPT_P, maxmem },
      (error, key) => (error === null ? resolve(new Uint8Array(key)) : reject(error)),
    );
  });
}

function checkPassphrase(passphrase: string): string {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the keystore passphrase must not be empty');
  }
  // The same passphrase typed on systems that compose characters differently must open the file.
  return passphrase.normalize('NFC');
}

function isValidCost(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_SCRYPT_COST && n <= MAX_SCRYPT_COST && (n & (n - 1)) === 0;
}

function parseKeystoreFile(
  text: string,
  path: string,
): { kdf: KdfParams; nonce: Uint8Array; ciphertext: Uint8Array } {
  const invalid = () => createKeystoreError(path, VAULT_ERROR_REASONS.keystoreInvalid);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid();
  }
  if (!isRecord(value) || value.format !== FORMAT || value.version !== VERSION) throw invalid();
  const { kdf, cipher } = value;
  if (!isRecord(kdf) || kdf.name !== 'scrypt' || kdf.r !== SCRYPT_R || kdf.p !== SCRYPT_P) throw invalid();
  if (typeof kdf.N !== 'number' || !isValidCost(kdf.N)) throw invalid();
  if (!isRecord(cipher) || cipher.name !== 'aes-256-gcm') throw invalid();
  const salt = fromBase64(kdf.salt);
  const nonce = fromBase64(cipher.nonce);
  const ciphertext = fromBase64(cipher.ciphertext);
  if (salt?.length !== SALT_SIZE || nonce?.length !== GCM_NONCE_SIZE || ciphertext === undefined)
    throw invalid();
  return { kdf: { N: kdf.N, salt }, nonce, ciphertext };
}

/** The inner JSON was authenticated, so a malformed one means a bug, not an attack; still checked. */
function parseSecrets(plaintext: Uint8Array, path: string): Secrets {
  const invalid = () => createKeystoreError(path, VAULT_ERROR_REASONS.keystoreInvalid);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch {
    throw invalid();
  }
  if (!isRecord(value) || typeof value.currentKekId !== 'string' || !Array.isArray(value.keks))
    throw invalid();
  const nodeSecret = fromBase64(value.nodeSecret);
  if (nodeSecret?.length !== 32) throw invalid();
  const keks: Kek[] = [];
  for (const entry of value.keks as unknown[]) {
    if (!isRecord(entry) || typeof entry.id !== 'string' || typeof entry.createdAt !== 'number')
      throw invalid();
    const key = fromBase64(entry.key);
    if (key?.length !== AES_256_KEY_SIZE) throw invalid();
    keks.push({ id: entry.id, key, createdAt: entry.createdAt });
  }
  if (!keks.some((kek) => kek.id === value.currentKekId)) throw invalid();
  return { nodeSecret, currentKekId: value.currentKekId, keks };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

/** Strict: Node's decoder skips bad characters, so only canonical base64 that round-trips is accepted. */
function fromBase64(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) return undefined;
  return new Uint8Array(bytes);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CareLedgerError('ERR_STORAGE', `cannot read ${path}`, { cause, details: { keystore: path } });
  }
}

function defaultRandomBytes(size: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(size));
}
