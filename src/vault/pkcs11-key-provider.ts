import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Pkcs11Module from 'pkcs11js';
import { CareLedgerError } from '../errors/index.js';
import { AES_256_KEY_SIZE, GCM_NONCE_SIZE } from './aes-256-gcm.js';
import { encodeFields } from './encode-fields.js';
import { KEY_WRAP_ALGORITHM, type KeyProvider, type WrappedKey } from './key-provider.js';
import { createUnknownKekError, createUnwrapFailedError } from './vault-errors.js';

// pkcs11js is a native CommonJS addon; load it lazily so nodes without an HSM never touch it.
const require = createRequire(import.meta.url);
type Pkcs11 = typeof Pkcs11Module;
let loaded: Pkcs11 | undefined;
function pkcs11js(): Pkcs11 {
  loaded ??= require('pkcs11js') as Pkcs11;
  return loaded;
}

/** Where the key-encryption key lives: a PKCS#11 module, a token, and the labels of our two keys. */
export interface Pkcs11Config {
  /** Path of the PKCS#11 module, e.g. `/usr/lib/softhsm/libsofthsm2.so`. */
  readonly module: string;
  /** The token's label (CKA_LABEL of the token, as `softhsm2-util --init-token --label` set it). */
  readonly tokenLabel: string;
  /** The user PIN: read by the caller from an environment variable or a file outside the data folder. */
  readonly pin: string;
  /** Label of the AES-256 KEK (default `careledger-kek`). */
  readonly keyLabel?: string;
}

const DEFAULT_KEY_LABEL = 'careledger-kek';
const WRAP_LABEL = 'careledger/key-wrap/pkcs11/v1';
const SECRET_LABEL = 'careledger/node-secret/v1';
const GCM_TAG_BITS = 128;

function hsmError(message: string, reason: string, cause?: unknown): CareLedgerError {
  // PKCS#11 errors name a CKR_* code, never key material or the PIN.
  return new CareLedgerError('ERR_KEYSTORE', message, {
    details: { reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

interface Session {
  readonly lib: Pkcs11Module.PKCS11;
  readonly handle: Buffer;
  readonly module: string;
}

/**
 * One loaded library per module path for the whole process: C_Initialize may be called once, and
 * C_Finalize ends every session of the module, so it runs only when the last session closes.
 */
const libraries = new Map<string, { lib: Pkcs11Module.PKCS11; sessions: number }>();

function loadLibrary(module: string): Pkcs11Module.PKCS11 {
  const known = libraries.get(module);
  if (known !== undefined) {
    known.sessions += 1;
    return known.lib;
  }
  const lib = new (pkcs11js().PKCS11)();
  try {
    lib.load(module);
    lib.C_Initialize();
  } catch (cause) {
    throw hsmError(`cannot load the PKCS#11 module ${module}`, 'hsm-module', cause);
  }
  libraries.set(module, { lib, sessions: 1 });
  return lib;
}

function releaseLibrary(module: string): void {
  const known = libraries.get(module);
  if (known === undefined) return;
  known.sessions -= 1;
  if (known.sessions > 0) return;
  libraries.delete(module);
  known.lib.C_Finalize();
}

function openSession(config: Pkcs11Config): Session {
  const p = pkcs11js();
  const lib = loadLibrary(config.module);
  let handle: Buffer | undefined;
  try {
    const slot = lib
      .C_GetSlotList(true)
      .find((s) => lib.C_GetTokenInfo(s).label.trim() === config.tokenLabel);
    if (slot === undefined) throw hsmError(`no PKCS#11 token labelled ${config.tokenLabel}`, 'hsm-token');
    handle = lib.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    try {
      lib.C_Login(handle, p.CKU_USER, config.pin);
    } catch (cause) {
      // Login state is per token and application: a second session on the same token is already in.
      if ((cause as { code?: number }).code !== p.CKR_USER_ALREADY_LOGGED_IN)
        throw hsmError(`cannot log in to the PKCS#11 token ${config.tokenLabel}`, 'hsm-login', cause);
    }
    return { lib, handle, module: config.module };
  } catch (error) {
    if (handle !== undefined) lib.C_CloseSession(handle);
    releaseLibrary(config.module);
    throw error;
  }
}

function findKey(session: Session, template: Pkcs11Module.Template): Buffer | undefined {
  const { lib, handle } = session;
  lib.C_FindObjectsInit(handle, template);
  try {
    return lib.C_FindObjects(handle) ?? undefined;
  } finally {
    lib.C_FindObjectsFinal(handle);
  }
}

function keyTemplate(label: string, keyType: 'aes' | 'hmac'): Pkcs11Module.Template {
  const p = pkcs11js();
  return [
    { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
    { type: p.CKA_KEY_TYPE, value: keyType === 'aes' ? p.CKK_AES : p.CKK_GENERIC_SECRET },
    { type: p.CKA_LABEL, value: label },
  ];
}

/** The id of the KEK as wrapped keys name it: the token's CKA_ID of the key, hex. */
function kekIdOf(session: Session, key: Buffer): string {
  const p = pkcs11js();
  const [id] = session.lib.C_GetAttributeValue(session.handle, key, [{ type: p.CKA_ID }]);
  return `pkcs11-${Buffer.from(id?.value as Buffer).toString('hex')}`;
}

/**
 * Creates the KEK (AES-256) and the node-secret key (HMAC-SHA-256) in the token if they are missing:
 * generated inside the token, sensitive and not extractable, so neither ever leaves it. Returns the
 * KEK's id and whether anything was created.
 */
export function initPkcs11Keys(config: Pkcs11Config): { keyId: string; created: boolean } {
  const p = pkcs11js();
  const session = openSession(config);
  const label = config.keyLabel ?? DEFAULT_KEY_LABEL;
  try {
    let created = false;
    const generate = (keyLabel: string, keyType: 'aes' | 'hmac'): Buffer => {
      const existing = findKey(session, keyTemplate(keyLabel, keyType));
      if (existing !== undefined) return existing;
      created = true;
      const aes = keyType === 'aes';
      return session.lib.C_GenerateKey(
        session.handle,
        { mechanism: aes ? p.CKM_AES_KEY_GEN : p.CKM_GENERIC_SECRET_KEY_GEN },
        [
          { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
          { type: p.CKA_KEY_TYPE, value: aes ? p.CKK_AES : p.CKK_GENERIC_SECRET },
          { type: p.CKA_VALUE_LEN, value: AES_256_KEY_SIZE },
          { type: p.CKA_LABEL, value: keyLabel },
          { type: p.CKA_ID, value: randomBytes(8) },
          { type: p.CKA_TOKEN, value: true },
          { type: p.CKA_PRIVATE, value: true },
          { type: p.CKA_SENSITIVE, value: true },
          { type: p.CKA_EXTRACTABLE, value: false },
          { type: p.CKA_ENCRYPT, value: aes },
          { type: p.CKA_DECRYPT, value: aes },
          { type: p.CKA_SIGN, value: !aes },
          { type: p.CKA_VERIFY, value: !aes },
        ],
      );
    };
    const kek = generate(label, 'aes');
    generate(`${label}-secret`, 'hmac');
    return { keyId: kekIdOf(session, kek), created };
  } catch (cause) {
    if (cause instanceof CareLedgerError) throw cause;
    throw hsmError('cannot create the keys in the PKCS#11 token', 'hsm-keygen', cause);
  } finally {
    closeSession(session);
  }
}

function closeSession(session: Session): void {
  try {
    session.lib.C_CloseSession(session.handle);
  } finally {
    releaseLibrary(session.module);
  }
}

/**
 * A KeyProvider whose KEK is an AES-256 key inside a PKCS#11 token (an HSM; SoftHSM2 in tests): data
 * keys are wrapped and unwrapped by the token with CKM_AES_GCM (PKCS#11 v2.40 §2.12.3), with the
 * context bound as associated data, and the node secret is an HMAC key in the token. Nothing in the
 * node's data folder can unwrap a data key: that needs the token and its PIN.
 */
export class Pkcs11KeyProvider implements KeyProvider {
  readonly #session: Session;
  readonly #kek: Buffer;
  readonly #secretKey: Buffer;
  readonly keyId: string;
  #closed = false;

  private constructor(session: Session, kek: Buffer, secretKey: Buffer, keyId: string) {
    this.#session = session;
    this.#kek = kek;
    this.#secretKey = secretKey;
    this.keyId = keyId;
  }

  /** Opens a session on the token and finds the keys `initPkcs11Keys` made (`careledger vault hsm-init`). */
  static open(config: Pkcs11Config): Pkcs11KeyProvider {
    const session = openSession(config);
    const label = config.keyLabel ?? DEFAULT_KEY_LABEL;
    try {
      const kek = findKey(session, keyTemplate(label, 'aes'));
      const secret = findKey(session, keyTemplate(`${label}-secret`, 'hmac'));
      if (kek === undefined || secret === undefined) {
        throw hsmError(
          `the PKCS#11 token ${config.tokenLabel} holds no key ${label}; run \`careledger vault hsm-init\``,
          'hsm-no-key',
        );
      }
      return new Pkcs11KeyProvider(session, kek, secret, kekIdOf(session, kek));
    } catch (error) {
      closeSession(session);
      throw error;
    }
  }

  async wrapKey(dek: Uint8Array, context: string): Promise<WrappedKey> {
    if (dek.length !== AES_256_KEY_SIZE) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a data key must be 32 bytes', {
        details: { length: dek.length },
      });
    }
    const { lib, handle } = this.#live();
    const nonce = new Uint8Array(randomBytes(GCM_NONCE_SIZE));
    lib.C_EncryptInit(handle, this.#gcm(nonce, context), this.#kek);
    const out = lib.C_Encrypt(handle, Buffer.from(dek), Buffer.alloc(dek.length + GCM_TAG_BITS / 8));
    return { kekId: this.keyId, algorithm: KEY_WRAP_ALGORITHM, nonce, ciphertext: new Uint8Array(out) };
  }

  async unwrapKey(wrapped: WrappedKey, context: string): Promise<Uint8Array> {
    if (wrapped.algorithm !== KEY_WRAP_ALGORITHM) throw createUnwrapFailedError(wrapped.kekId);
    if (wrapped.kekId !== this.keyId) throw createUnknownKekError(wrapped.kekId);
    const { lib, handle } = this.#live();
    let dek: Buffer;
    try {
      lib.C_DecryptInit(handle, this.#gcm(wrapped.nonce, context), this.#kek);
      dek = lib.C_Decrypt(handle, Buffer.from(wrapped.ciphertext), Buffer.alloc(wrapped.ciphertext.length));
    } catch {
      throw createUnwrapFailedError(wrapped.kekId);
    }
    if (dek.length !== AES_256_KEY_SIZE) throw createUnwrapFailedError(wrapped.kekId);
    return new Uint8Array(dek);
  }

  async deriveSecret(purpose: string): Promise<Uint8Array> {
    // HMAC-SHA-256 (CKM_SHA256_HMAC) under the token's secret key, one independent secret per purpose.
    const p = pkcs11js();
    const { lib, handle } = this.#live();
    lib.C_SignInit(handle, { mechanism: p.CKM_SHA256_HMAC }, this.#secretKey);
    const mac = lib.C_Sign(handle, Buffer.from(encodeFields([SECRET_LABEL, purpose])), Buffer.alloc(32));
    return new Uint8Array(mac);
  }

  /** Logs out and closes the session. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSession(this.#session);
  }

  #live(): Session {
    if (this.#closed) throw hsmError('the PKCS#11 session is closed', 'hsm-closed');
    return this.#session;
  }

  #gcm(nonce: Uint8Array, context: string): Pkcs11Module.Mechanism {
    const p = pkcs11js();
    return {
      mechanism: p.CKM_AES_GCM,
      parameter: {
        type: p.CK_PARAMS_AES_GCM,
        iv: Buffer.from(nonce),
        ivBits: nonce.length * 8,
        aad: Buffer.from(encodeFields([WRAP_LABEL, KEY_WRAP_ALGORITHM, this.keyId, context])),
        tagBits: GCM_TAG_BITS,
      } as Pkcs11Module.AesGCM,
    };
  }
}
