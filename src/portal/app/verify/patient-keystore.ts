/**
 * Opening the patient's Web3 Secret Storage v3 keystore in the browser (the Node side is
 * src/identity/patient-keystore.ts): DK = scrypt(passphrase, salt, n, r, p, 32);
 * mac = Keccak-256(DK[16..31] ‖ ciphertext); key = AES-128-CTR(DK[0..15], iv) of the ciphertext.
 * scrypt from @noble/hashes, AES-CTR from WebCrypto.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { addressOfPrivateKey } from '../../../smart/address-jwt.js';
import { bytesEqual, concatBytes, fromHex } from './bytes.js';

export interface BrowserKeystore {
  readonly address: string;
  readonly crypto: {
    readonly cipher: string;
    readonly ciphertext: string;
    readonly cipherparams: { readonly iv: string };
    readonly kdf: string;
    readonly kdfparams: {
      readonly dklen: number;
      readonly n: number;
      readonly p: number;
      readonly r: number;
      readonly salt: string;
    };
    readonly mac: string;
  };
}

/** Same ceilings as the Node side (2^18 at r = 8): an altered keystore cannot make the tab allocate gigabytes. */
const MAX_MEMORY_BYTES = 2 ** 28;

export class KeystoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeystoreError';
  }
}

/** Returns the 32-byte private key; a wrong passphrase and a damaged file give the same vague error. */
export async function openKeystoreInBrowser(
  keystore: BrowserKeystore,
  passphrase: string,
  onProgress?: (fraction: number) => void,
): Promise<Uint8Array> {
  const { crypto: c } = keystore;
  const { n, r, p, dklen, salt } = c.kdfparams ?? ({} as BrowserKeystore['crypto']['kdfparams']);
  if (c?.cipher !== 'aes-128-ctr' || c.kdf !== 'scrypt' || dklen !== 32) {
    throw new KeystoreError('this keystore format is not supported (scrypt and aes-128-ctr only)');
  }
  if (!Number.isSafeInteger(n) || n < 2 || (n & (n - 1)) !== 0 || 128 * n * r > MAX_MEMORY_BYTES || p < 1) {
    throw new KeystoreError('the keystore asks for scrypt parameters out of bounds');
  }
  const derived = await scryptAsync(new TextEncoder().encode(passphrase), fromHex(salt), {
    N: n,
    r,
    p,
    dkLen: 32,
    ...(onProgress === undefined ? {} : { onProgress }),
  });
  const ciphertext = fromHex(c.ciphertext);
  const mac = keccak_256(concatBytes(derived.slice(16, 32), ciphertext));
  if (!bytesEqual(mac, fromHex(c.mac))) {
    derived.fill(0);
    throw new KeystoreError('wrong passphrase or damaged keystore');
  }
  const key = await globalThis.crypto.subtle.importKey('raw', derived.slice(0, 16), 'AES-CTR', false, [
    'decrypt',
  ]);
  derived.fill(0);
  const plain = new Uint8Array(
    await globalThis.crypto.subtle.decrypt(
      { name: 'AES-CTR', counter: fromHex(c.cipherparams.iv), length: 128 },
      key,
      ciphertext as Uint8Array<ArrayBuffer>,
    ),
  );
  if (addressOfPrivateKey(plain).slice(2) !== keystore.address.toLowerCase().replace(/^0x/, '')) {
    plain.fill(0);
    throw new KeystoreError('the keystore address does not match the key inside it');
  }
  return plain;
}

/** A new keystore for the same key under a new passphrase (Web3 Secret Storage v3, scrypt n = 2^17). */
export async function createKeystoreInBrowser(
  privateKey: Uint8Array,
  passphrase: string,
  n = 2 ** 17,
): Promise<Record<string, unknown>> {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const id = crypto.getRandomValues(new Uint8Array(16));
  id[6] = ((id[6] ?? 0) & 0x0f) | 0x40;
  id[8] = ((id[8] ?? 0) & 0x3f) | 0x80;
  const derived = await scryptAsync(new TextEncoder().encode(passphrase), salt, {
    N: n,
    r: 8,
    p: 1,
    dkLen: 32,
  });
  const key = await globalThis.crypto.subtle.importKey('raw', derived.slice(0, 16), 'AES-CTR', false, [
    'encrypt',
  ]);
  const ciphertext = new Uint8Array(
    await globalThis.crypto.subtle.encrypt(
      { name: 'AES-CTR', counter: iv, length: 128 },
      key,
      privateKey as Uint8Array<ArrayBuffer>,
    ),
  );
  const mac = keccak_256(concatBytes(derived.slice(16, 32), ciphertext));
  derived.fill(0);
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const uuid = hex(id);
  return {
    address: addressOfPrivateKey(privateKey).slice(2),
    crypto: {
      cipher: 'aes-128-ctr',
      ciphertext: hex(ciphertext),
      cipherparams: { iv: hex(iv) },
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n, p: 1, r: 8, salt: hex(salt) },
      mac: hex(mac),
    },
    id: `${uuid.slice(0, 8)}-${uuid.slice(8, 12)}-${uuid.slice(12, 16)}-${uuid.slice(16, 20)}-${uuid.slice(20)}`,
    version: 3,
  };
}
