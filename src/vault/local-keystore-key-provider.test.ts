import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { createLocalKeystore, MIN_SCRYPT_COST, openLocalKeystore } from './local-keystore-key-provider.js';
import { vaultErrorReason } from './vault-errors.js';

// The floor cost keeps each open near 0.1 s; the default (2^17) is exercised once below.
const fast = { scryptCost: MIN_SCRYPT_COST };
const passphrase = 'correct horse battery staple';
const dek = new Uint8Array(32).fill(7);

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-keystore-'));
  path = join(dir, 'keystore.json');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function expectKeystoreError(run: () => Promise<unknown>, reason: string): Promise<CareLedgerError> {
  const error = await run().then(
    () => expect.unreachable('should have failed'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CareLedgerError);
  const failure = error as CareLedgerError;
  expect(vaultErrorReason(failure)).toBe(reason);
  expect(failure.message).toContain(path);
  expect(failure.details).toEqual({ keystore: path, reason });
  expect(JSON.stringify([failure.message, failure.details, failure.stack])).not.toContain(passphrase);
  return failure;
}

function editFile(edit: (file: Record<string, Record<string, unknown>>) => void): void {
  const file = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, unknown>>;
  edit(file);
  writeFileSync(path, JSON.stringify(file));
}

describe('local keystore', () => {
  test('creates a versioned JSON file, mode 0600, holding no key in clear', async () => {
    const provider = await createLocalKeystore(path, passphrase, fast);
    const text = readFileSync(path, 'utf8');
    const file = JSON.parse(text) as Record<string, Record<string, unknown>>;
    expect(file.format).toBe('careledger-keystore');
    expect(file.version).toBe(1);
    expect(file.kdf).toMatchObject({ name: 'scrypt', N: 2 ** 15, r: 8, p: 1 });
    expect(file.cipher).toMatchObject({ name: 'aes-256-gcm' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(provider.keyId).toMatch(/^kek-[0-9a-f]{16}$/);
    expect(text).not.toContain(provider.keyId);
  });

  test('reopens with the passphrase: same KEK, same node secret', async () => {
    const created = await createLocalKeystore(path, passphrase, fast);
    const wrapped = await created.wrapKey(dek, 'patient a');
    const opened = await openLocalKeystore(path, passphrase);
    expect(opened.keyId).toBe(created.keyId);
    expect(await opened.unwrapKey(wrapped, 'patient a')).toEqual(dek);
    expect(await opened.deriveSecret('x')).toEqual(await created.deriveSecret('x'));
    expect(await opened.deriveSecret('x')).not.toEqual(await opened.deriveSecret('y'));
  });

  test('the passphrase is compared after Unicode NFC normalization', async () => {
    await createLocalKeystore(path, 'caf\u00e9', fast);
    await expect(openLocalKeystore(path, 'cafe\u0301')).resolves.toBeDefined();
  });

  test('uses scrypt N=2^17 by default', async () => {
    await createLocalKeystore(path, passphrase);
    expect(JSON.parse(readFileSync(path, 'utf8')).kdf.N).toBe(2 ** 17);
  });

  test('refuses weak scrypt costs, empty passphrases and overwriting a keystore', async () => {
    await expect(createLocalKeystore(path, passphrase, { scryptCost: 2 ** 14 })).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    await expect(createLocalKeystore(path, passphrase, { scryptCost: 3 * 2 ** 15 })).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    await expect(createLocalKeystore(path, '', fast)).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    await createLocalKeystore(path, passphrase, fast);
    const before = readFileSync(path, 'utf8');
    await expect(createLocalKeystore(path, passphrase, fast)).rejects.toMatchObject({
      code: 'ERR_CONFIG',
      details: { reason: 'keystore-exists' },
    });
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  test('a wrong passphrase fails with an error naming the keystore and nothing else', async () => {
    await createLocalKeystore(path, passphrase, fast);
    const error = await expectKeystoreError(
      () => openLocalKeystore(path, 'wrong horse'),
      'keystore-unlock-failed',
    );
    expect(error.message).toBe(`cannot open the keystore ${path}: wrong passphrase, or the file was altered`);
  });

  test('a missing keystore is not found', async () => {
    await expect(openLocalKeystore(path, passphrase)).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
      details: { keystore: path, reason: 'keystore-missing' },
    });
  });

  describe('an altered keystore file fails to open', () => {
    const flipChar = (s: string, at: number) =>
      s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1);

    test.each([
      [
        'a ciphertext character',
        (f: Record<string, Record<string, unknown>>) => {
          const c = f.cipher as { ciphertext: string };
          c.ciphertext = flipChar(c.ciphertext, 10);
        },
      ],
      [
        'the tag (last characters)',
        (f: Record<string, Record<string, unknown>>) => {
          const c = f.cipher as { ciphertext: string };
          c.ciphertext = flipChar(c.ciphertext, c.ciphertext.length - 4);
        },
      ],
      [
        'the nonce',
        (f: Record<string, Record<string, unknown>>) => {
          const c = f.cipher as { nonce: string };
          c.nonce = flipChar(c.nonce, 0);
        },
      ],
      [
        'the salt',
        (f: Record<string, Record<string, unknown>>) => {
          const k = f.kdf as { salt: string };
          k.salt = flipChar(k.salt, 0);
        },
      ],
      [
        'the scrypt cost',
        (f: Record<string, Record<string, unknown>>) => {
          (f.kdf as { N: number }).N = 2 ** 16;
        },
      ],
    ])('%s', async (_, edit) => {
      await createLocalKeystore(path, passphrase, fast);
      editFile(edit);
      await expectKeystoreError(() => openLocalKeystore(path, passphrase), 'keystore-unlock-failed');
    });

    test.each([
      ['truncated', () => writeFileSync(path, readFileSync(path, 'utf8').slice(0, 40))],
      ['another format version', () => editFile((f) => Object.assign(f, { version: 2 }))],
      ['a cost outside the bounds', () => editFile((f) => Object.assign(f.kdf as object, { N: 2 ** 19 }))],
      ['r changed', () => editFile((f) => Object.assign(f.kdf as object, { r: 1 }))],
      [
        'non-canonical base64',
        () => editFile((f) => Object.assign(f.cipher as object, { nonce: 'AAAA AAAA AAAAAAAA' })),
      ],
      ['a missing field', () => editFile((f) => delete f.cipher)],
    ])('%s', async (_, alter) => {
      await createLocalKeystore(path, passphrase, fast);
      alter();
      await expectKeystoreError(() => openLocalKeystore(path, passphrase), 'keystore-invalid');
    });
  });

  test('a wrapped key only unwraps under the same context (patient)', async () => {
    const provider = await createLocalKeystore(path, passphrase, fast);
    const wrapped = await provider.wrapKey(dek, 'patient a');
    expect(wrapped.algorithm).toBe('A256GCMKW');
    expect(wrapped.kekId).toBe(provider.keyId);
    expect(wrapped.nonce).toHaveLength(12);
    expect(wrapped.ciphertext).toHaveLength(48);
    await expect(provider.unwrapKey(wrapped, 'patient b')).rejects.toMatchObject({
      details: { reason: 'unwrap-failed' },
    });
    const flipped = new Uint8Array(wrapped.ciphertext);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await expect(provider.unwrapKey({ ...wrapped, ciphertext: flipped }, 'patient a')).rejects.toMatchObject({
      details: { reason: 'unwrap-failed' },
    });
    await expect(provider.wrapKey(new Uint8Array(16), 'x')).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });

  test('KEK rotation: new wraps use the new KEK, old wraps still unwrap, rewrap moves them', async () => {
    const provider = await createLocalKeystore(path, passphrase, fast);
    const first = provider.keyId;
    const old = await provider.wrapKey(dek, 'ctx');
    const secretBefore = await provider.deriveSecret('keyed-hash');

    const second = await provider.rotateKek();
    expect(second).not.toBe(first);
    const current: string = provider.keyId;
    expect(current).toBe(second);
    expect(provider.kekIds).toEqual([first, second]);
    expect((await provider.wrapKey(dek, 'ctx')).kekId).toBe(second);

    const reopened = await openLocalKeystore(path, passphrase);
    expect(reopened.keyId).toBe(second);
    expect(await reopened.unwrapKey(old, 'ctx')).toEqual(dek);
    expect(await reopened.deriveSecret('keyed-hash')).toEqual(secretBefore);

    const moved = await reopened.rewrapKey(old, 'ctx');
    expect(moved.kekId).toBe(second);
    expect(await reopened.unwrapKey(moved, 'ctx')).toEqual(dek);
    await expect(reopened.rewrapKey(old, 'other')).rejects.toMatchObject({
      details: { reason: 'unwrap-failed' },
    });

    await expect(reopened.retireKek(second)).rejects.toMatchObject({ details: { reason: 'kek-in-use' } });
    await reopened.retireKek(first);
    expect(reopened.kekIds).toEqual([second]);
    await expect(reopened.unwrapKey(old, 'ctx')).rejects.toMatchObject({
      details: { reason: 'unknown-kek' },
    });
    const afterRetire = await openLocalKeystore(path, passphrase);
    expect(afterRetire.kekIds).toEqual([second]);
    expect(await afterRetire.unwrapKey(moved, 'ctx')).toEqual(dek);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
