import { createCipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keccak_256 } from '@noble/hashes/sha3.js';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/reason-of.js';
import { deriveScryptKey } from './derive-scrypt-key.js';
import {
  createPatientKey,
  createPatientKeystore,
  DEFAULT_PATIENT_KEYSTORE_N,
  decryptKeystoreCiphertext,
  MIN_PATIENT_KEYSTORE_N,
  openPatientKeystore,
  type PatientKeystore,
  parsePatientKeystore,
} from './patient-keystore.js';

// Web3 Secret Storage Definition and go-ethereum vectors; see the SOURCE.md beside them.
const DIR = join(import.meta.dirname, '../../test/vectors/web3-secret-storage');

interface DefinitionVector {
  json: { crypto: { ciphertext: string; cipherparams: { iv: string }; mac: string } } & Record<
    string,
    unknown
  >;
  intermediates: { derivedKey: string; macBody: string; mac: string; cipherKey: string };
}
const definition = JSON.parse(readFileSync(join(DIR, 'definition-v3.json'), 'utf8')) as {
  details: { address: string; password: string; secret: string };
  scrypt: DefinitionVector;
  pbkdf2: DefinitionVector;
  scrypt2023: DefinitionVector;
};
const geth = JSON.parse(readFileSync(join(DIR, 'go-ethereum-keystores.json'), 'utf8')) as {
  keystores: Array<{ file: string; password: string; json: PatientKeystore }>;
};

const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const addressOf = (privateKey: Hex) => privateKeyToAccount(privateKey).address.slice(2).toLowerCase();

const PASSPHRASE = 'correct horse battery staple';
const KEY: Hex = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
const FAST = { n: MIN_PATIENT_KEYSTORE_N };

/** A counter as "randomness", so created keystores are reproducible. */
function counterRandom(): (size: number) => Uint8Array {
  let next = 0;
  return (size) => Uint8Array.from({ length: size }, () => next++ & 0xff);
}

describe('Web3 Secret Storage Definition test vectors', () => {
  it('names the address of its secret', () => {
    expect(addressOf(`0x${definition.details.secret}`)).toBe(definition.details.address);
  });

  it.each(['scrypt', 'pbkdf2', 'scrypt2023'] as const)(
    '%s: the intermediates are DK[16..31] ‖ ciphertext and DK[0..15]',
    (name) => {
      const { json, intermediates } = definition[name];
      expect(intermediates.macBody).toBe(intermediates.derivedKey.slice(32) + json.crypto.ciphertext);
      expect(intermediates.cipherKey).toBe(intermediates.derivedKey.slice(0, 32));
      expect(toHex(keccak_256(hex(intermediates.macBody)))).toBe(intermediates.mac);
      expect(json.crypto.mac).toBe(intermediates.mac);
    },
  );

  it.each(['scrypt', 'pbkdf2', 'scrypt2023'] as const)(
    '%s: from the published derived key, the MAC checks and the ciphertext opens to the secret',
    (name) => {
      const { json, intermediates } = definition[name];
      expect(toHex(decryptKeystoreCiphertext(json.crypto, hex(intermediates.derivedKey)))).toBe(
        definition.details.secret,
      );
    },
  );

  it('refuses a derived key that differs in the MAC half or the cipher half', () => {
    const { json, intermediates } = definition.scrypt;
    const macHalf = hex(intermediates.derivedKey);
    macHalf[31] = (macHalf[31] ?? 0) ^ 1;
    expect(errorOf(() => decryptKeystoreCiphertext(json.crypto, macHalf))).toMatchObject({
      code: 'ERR_DECRYPT',
      message: 'wrong passphrase or corrupted keystore',
    });
    // The cipher half is not under the MAC: a wrong one decrypts to garbage, which the address
    // check in openPatientKeystore catches.
    const cipherHalf = hex(intermediates.derivedKey);
    cipherHalf[0] = (cipherHalf[0] ?? 0) ^ 1;
    expect(toHex(decryptKeystoreCiphertext(json.crypto, cipherHalf))).not.toBe(definition.details.secret);
  });

  it('rejects the original scrypt vector whole: n = 2^18 with r = 1 breaks RFC 7914 §2', async () => {
    const keystore = { address: definition.details.address, ...definition.scrypt.json };
    await expect(openPatientKeystore(keystore, definition.details.password)).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { field: 'crypto.kdfparams.n' },
    });
  });

  it('rejects the PBKDF2 vector whole: CareLedger keystores use scrypt', () => {
    const keystore = { address: definition.details.address, ...definition.pbkdf2.json };
    expect(errorOf(() => parsePatientKeystore(keystore))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { field: 'crypto.kdf' },
    });
  });

  it('shows that the 2023 scrypt vector used the salt text, not the salt bytes', async () => {
    const { json, intermediates } = definition.scrypt2023;
    const keystore = parsePatientKeystore({ address: definition.details.address, ...json });
    const { kdfparams } = keystore.crypto;
    const params = { N: kdfparams.n, r: kdfparams.r, p: kdfparams.p };
    const fromText = await deriveScryptKey(
      definition.details.password,
      Buffer.from(kdfparams.salt, 'utf8'),
      params,
      32,
    );
    expect(toHex(fromText)).toBe(intermediates.derivedKey);
    await expect(openPatientKeystore(keystore, definition.details.password)).rejects.toMatchObject({
      code: 'ERR_DECRYPT',
    });
  });
});

describe('keystores written by go-ethereum', () => {
  it.each(geth.keystores.map((k) => [k.file, k] as const))('opens %s', async (_, { json, password }) => {
    const privateKey = await openPatientKeystore(json, password, { minN: 2 });
    expect(privateKey).toMatch(/^0x[0-9a-f]{64}$/);
    expect(addressOf(privateKey)).toBe(json.address);
  });

  it.each(geth.keystores.map((k) => [k.file, k] as const))(
    'refuses %s with a wrong password',
    async (_, { json, password }) => {
      await expect(openPatientKeystore(json, `${password}bad`, { minN: 2 })).rejects.toMatchObject({
        code: 'ERR_DECRYPT',
        message: 'wrong passphrase or corrupted keystore',
      });
    },
  );

  it('refuses their tiny scrypt costs unless the caller lowers the floor', () => {
    for (const { json } of geth.keystores) {
      expect(errorOf(() => parsePatientKeystore(json))).toMatchObject({
        code: 'ERR_INVALID_INPUT',
        details: { field: 'crypto.kdfparams.n' },
      });
      expect(parsePatientKeystore(json, { minN: 2 })).toEqual(json);
    }
  });
});

describe('createPatientKey', () => {
  it('makes a secp256k1 key and its checksummed address', () => {
    const { privateKey, address } = createPatientKey();
    expect(privateKey).toMatch(/^0x[0-9a-f]{64}$/);
    expect(address).toBe(privateKeyToAccount(privateKey).address);
    expect(createPatientKey().privateKey).not.toBe(privateKey);
  });
});

describe('createPatientKeystore and openPatientKeystore', () => {
  it('round-trips, through JSON text too', async () => {
    const keystore = await createPatientKeystore(KEY, PASSPHRASE, FAST);
    expect(keystore.address).toBe(addressOf(KEY));
    expect(keystore.version).toBe(3);
    expect(keystore.crypto).toMatchObject({
      cipher: 'aes-128-ctr',
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n: 2 ** 15, r: 8, p: 1 },
    });
    expect(keystore.crypto.kdfparams.salt).toMatch(/^[0-9a-f]{64}$/);
    expect(keystore.crypto.cipherparams.iv).toMatch(/^[0-9a-f]{32}$/);
    expect(keystore.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parsePatientKeystore(keystore)).toEqual(keystore);
    expect(await openPatientKeystore(keystore, PASSPHRASE)).toBe(KEY);
    expect(await openPatientKeystore(JSON.stringify(keystore), PASSPHRASE)).toBe(KEY);
  });

  it('writes the go-ethereum field layout', async () => {
    const keystore = await createPatientKeystore(KEY, PASSPHRASE, FAST);
    expect(Object.keys(keystore)).toEqual(Object.keys(geth.keystores[0]?.json ?? {}));
    expect(Object.keys(keystore.crypto)).toEqual(Object.keys(geth.keystores[0]?.json.crypto ?? {}));
    expect(Object.keys(keystore.crypto.kdfparams)).toEqual(
      Object.keys(geth.keystores[0]?.json.crypto.kdfparams ?? {}),
    );
  });

  it('is reproducible with injected randomness: salt, then iv, then id', async () => {
    const first = await createPatientKeystore(KEY, PASSPHRASE, { ...FAST, random: counterRandom() });
    const second = await createPatientKeystore(KEY, PASSPHRASE, { ...FAST, random: counterRandom() });
    expect(second).toEqual(first);
    expect(first.crypto.kdfparams.salt).toBe(toHex(Uint8Array.from({ length: 32 }, (_, i) => i)));
    expect(first.crypto.cipherparams.iv).toBe(toHex(Uint8Array.from({ length: 16 }, (_, i) => 32 + i)));
    // Bytes 48..63 with the RFC 9562 §5.4 version and variant bits set.
    expect(first.id).toBe('30313233-3435-4637-b839-3a3b3c3d3e3f');
  });

  it('uses n = 2^17 by default', async () => {
    const keystore = await createPatientKeystore(KEY, PASSPHRASE);
    expect(DEFAULT_PATIENT_KEYSTORE_N).toBe(2 ** 17);
    expect(keystore.crypto.kdfparams.n).toBe(2 ** 17);
  });

  it('gives one vague ERR_DECRYPT for a wrong passphrase and for damage under the MAC', async () => {
    const keystore = await createPatientKeystore(KEY, PASSPHRASE, FAST);
    const flip = (text: string) => (text[0] === '0' ? '1' : '0') + text.slice(1);
    const damaged: PatientKeystore[] = [
      { ...keystore, crypto: { ...keystore.crypto, ciphertext: flip(keystore.crypto.ciphertext) } },
      { ...keystore, crypto: { ...keystore.crypto, mac: flip(keystore.crypto.mac) } },
      {
        ...keystore,
        crypto: {
          ...keystore.crypto,
          kdfparams: { ...keystore.crypto.kdfparams, salt: flip(keystore.crypto.kdfparams.salt) },
        },
      },
    ];
    const expected = { code: 'ERR_DECRYPT', message: 'wrong passphrase or corrupted keystore' };
    await expect(openPatientKeystore(keystore, `${PASSPHRASE}!`)).rejects.toMatchObject(expected);
    for (const copy of damaged)
      await expect(openPatientKeystore(copy, PASSPHRASE)).rejects.toMatchObject(expected);
  });

  it('refuses a keystore whose address is not its key (ERR_KEYSTORE)', async () => {
    const keystore = await createPatientKeystore(KEY, PASSPHRASE, FAST);
    const other = { ...keystore, address: geth.keystores[0]?.json.address };
    await expect(openPatientKeystore(other, PASSPHRASE)).rejects.toMatchObject({ code: 'ERR_KEYSTORE' });
    // A damaged iv is outside the MAC too: it decrypts to another key, which the address check catches.
    const original = keystore.crypto.cipherparams.iv;
    const iv = original.slice(0, -1) + (original.endsWith('0') ? '1' : '0');
    const badIv = { ...keystore, crypto: { ...keystore.crypto, cipherparams: { iv } } };
    await expect(openPatientKeystore(badIv, PASSPHRASE)).rejects.toMatchObject({ code: 'ERR_KEYSTORE' });
  });

  it('refuses a keystore holding no valid secp256k1 key (ERR_KEYSTORE)', async () => {
    // Sealed by hand, following the Definition, around the scalar 0 (not a valid private key).
    const salt = new Uint8Array(32).fill(1);
    const iv = new Uint8Array(16).fill(2);
    const dk = await deriveScryptKey(PASSPHRASE, salt, { N: 2, r: 8, p: 1 }, 32);
    const cipher = createCipheriv('aes-128-ctr', dk.subarray(0, 16), iv);
    const ciphertext = Buffer.concat([cipher.update(new Uint8Array(32)), cipher.final()]);
    const mac = keccak_256(Buffer.concat([dk.subarray(16, 32), ciphertext]));
    const keystore = {
      address: '00'.repeat(20),
      crypto: {
        cipher: 'aes-128-ctr',
        ciphertext: toHex(ciphertext),
        cipherparams: { iv: toHex(iv) },
        kdf: 'scrypt',
        kdfparams: { dklen: 32, n: 2, p: 1, r: 8, salt: toHex(salt) },
        mac: toHex(mac),
      },
      id: '00000000-0000-4000-8000-000000000000',
      version: 3,
    };
    await expect(openPatientKeystore(keystore, PASSPHRASE, { minN: 2 })).rejects.toMatchObject({
      code: 'ERR_KEYSTORE',
    });
  });

  it('rejects bad private keys without echoing them', async () => {
    const curveOrder = '0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';
    for (const key of ['0x12', KEY.slice(2), `0x${'00'.repeat(32)}`, curveOrder, `${KEY}00`]) {
      const error = await createPatientKeystore(key as Hex, PASSPHRASE, FAST).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'ERR_INVALID_INPUT', details: { field: 'privateKey' } });
      expect(String((error as Error).message)).not.toContain(key.slice(2, 20));
      // The curve library's own message would quote the scalar, so it is not kept as the cause.
      expect((error as Error).cause).toBeUndefined();
    }
  });

  it('rejects short or long passphrases and unusable costs or randomness', async () => {
    const invalid = { code: 'ERR_INVALID_INPUT' };
    await expect(createPatientKeystore(KEY, '1234567', FAST)).rejects.toMatchObject(invalid);
    await expect(createPatientKeystore(KEY, 'x'.repeat(1025), FAST)).rejects.toMatchObject(invalid);
    for (const n of [2 ** 14, 2 ** 19, 3 * 2 ** 14]) {
      await expect(createPatientKeystore(KEY, PASSPHRASE, { n })).rejects.toMatchObject(invalid);
    }
    await expect(
      createPatientKeystore(KEY, PASSPHRASE, { ...FAST, random: (size) => new Uint8Array(size - 1) }),
    ).rejects.toMatchObject(invalid);
  });
});

describe('parsePatientKeystore', () => {
  const valid = (): PatientKeystore & Record<string, unknown> =>
    structuredClone(geth.keystores[2]?.json) as PatientKeystore & Record<string, unknown>;
  const edit = (change: (k: ReturnType<typeof valid>) => void) => {
    const keystore = valid();
    change(keystore);
    return keystore;
  };
  // Mutable view for the edits below; the real type is read-only.
  // biome-ignore lint/suspicious/noExplicitAny: tests write fields of the wrong type on purpose
  const w = (value: unknown) => value as any;

  it.each([
    ['(keystore)', 42],
    ['(keystore)', 'not json'],
    ['(keystore)', '[]'],
    ['(keystore)', null],
    [
      'address',
      edit((k) => {
        Reflect.deleteProperty(k, 'address');
      }),
    ],
    [
      'address',
      edit((k) => {
        w(k).address = k.address.toUpperCase();
      }),
    ],
    [
      'address',
      edit((k) => {
        w(k).address = `0x${k.address}`;
      }),
    ],
    [
      'version',
      edit((k) => {
        w(k).version = 1;
      }),
    ],
    [
      'version',
      edit((k) => {
        w(k).version = '3';
      }),
    ],
    [
      'id',
      edit((k) => {
        w(k).id = 'not-a-uuid';
      }),
    ],
    [
      'x-ethers',
      edit((k) => {
        w(k)['x-ethers'] = {};
      }),
    ],
    [
      'crypto',
      edit((k) => {
        w(k).crypto = [];
      }),
    ],
    [
      'crypto.cipher',
      edit((k) => {
        w(k.crypto).cipher = 'aes-128-cbc';
      }),
    ],
    [
      'crypto.cipherparams.iv',
      edit((k) => {
        w(k.crypto).cipherparams = { iv: '00'.repeat(15) };
      }),
    ],
    [
      'crypto.ciphertext',
      edit((k) => {
        w(k.crypto).ciphertext = k.crypto.ciphertext.slice(2);
      }),
    ],
    [
      'crypto.mac',
      edit((k) => {
        w(k.crypto).mac = k.crypto.mac.toUpperCase();
      }),
    ],
    [
      'crypto.kdf',
      edit((k) => {
        w(k.crypto).kdf = 'pbkdf2';
      }),
    ],
    [
      'crypto.kdfparams.dklen',
      edit((k) => {
        w(k.crypto.kdfparams).dklen = 64;
      }),
    ],
    [
      'crypto.kdfparams.n',
      edit((k) => {
        w(k.crypto.kdfparams).n = 1000;
      }),
    ],
    [
      'crypto.kdfparams.n',
      edit((k) => {
        w(k.crypto.kdfparams).n = '2';
      }),
    ],
    [
      'crypto.kdfparams.n',
      edit((k) => {
        w(k.crypto.kdfparams).n = 2 ** 19;
      }),
    ],
    [
      'crypto.kdfparams.r',
      edit((k) => {
        w(k.crypto.kdfparams).r = 0;
      }),
    ],
    [
      'crypto.kdfparams.p',
      edit((k) => {
        w(k.crypto.kdfparams).p = 2 ** 20;
      }),
    ],
    [
      'crypto.kdfparams.salt',
      edit((k) => {
        w(k.crypto.kdfparams).salt = '00'.repeat(8);
      }),
    ],
    [
      'crypto.kdfparams.prf',
      edit((k) => {
        w(k.crypto.kdfparams).prf = 'hmac-sha256';
      }),
    ],
  ])('names %s', (field, value) => {
    expect(errorOf(() => parsePatientKeystore(value, { minN: 2 }))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { field },
    });
  });

  it('returns a copy, not the caller’s object', () => {
    const input = valid();
    const parsed = parsePatientKeystore(input, { minN: 2 });
    expect(parsed).toEqual(input);
    expect(parsed).not.toBe(input);
    expect(parsed.crypto).not.toBe(input.crypto);
  });

  it('rejects a minN that is not a power of two', () => {
    expect(errorOf(() => parsePatientKeystore(valid(), { minN: 3 }))).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });
});
