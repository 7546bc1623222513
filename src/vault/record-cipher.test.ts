import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { encodeFields } from './encode-fields.js';
import {
  type DataKey,
  decryptRecord,
  encodeRecordAssociatedData,
  encryptRecord,
  type RecordRef,
  type SealedRecord,
} from './record-cipher.js';
import { vaultErrorReason } from './vault-errors.js';

const key = (): DataKey => ({ version: 1, key: new Uint8Array(randomBytes(32)) });
const ref: RecordRef = { resourceType: 'Observation', id: 'obs-1', versionId: '3', patientId: 'pat-42' };
const secret = 'SECRET-MARKER glucose 7.1 mmol/L';
const plaintext = new TextEncoder().encode(JSON.stringify({ resourceType: 'Observation', note: secret }));

function expectDecryptFailed(run: () => unknown): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CareLedgerError);
  const error = thrown as CareLedgerError;
  expect(error.message).toBe('the record could not be decrypted');
  expect(vaultErrorReason(error)).toBe('decrypt-failed');
  expect(error.cause).toBeUndefined();
  expect(
    JSON.stringify({ message: error.message, details: error.details, stack: error.stack }),
  ).not.toContain('SECRET-MARKER');
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return copy;
}

describe('encryptRecord / decryptRecord', () => {
  test('round trip, with a fresh 96-bit nonce and the tag appended', () => {
    const dek = key();
    const sealed = encryptRecord(ref, plaintext, dek);
    expect(sealed.format).toBe(1);
    expect(sealed.keyVersion).toBe(1);
    expect(sealed.nonce).toHaveLength(12);
    expect(sealed.ciphertext).toHaveLength(plaintext.length + 16);
    expect(Buffer.from(sealed.ciphertext).includes(Buffer.from(secret))).toBe(false);
    expect(decryptRecord(ref, sealed, dek)).toEqual(plaintext);
    expect(Buffer.from(encryptRecord(ref, plaintext, dek).nonce)).not.toEqual(Buffer.from(sealed.nonce));
  });

  test('empty plaintext round-trips', () => {
    const dek = key();
    expect(decryptRecord(ref, encryptRecord(ref, new Uint8Array(0), dek), dek)).toEqual(new Uint8Array(0));
  });

  test.each(['resourceType', 'id', 'versionId', 'patientId'] as const)('a changed %s fails', (field) => {
    const dek = key();
    const sealed = encryptRecord(ref, plaintext, dek);
    expectDecryptFailed(() => decryptRecord({ ...ref, [field]: `${ref[field]}x` }, sealed, dek));
    expectDecryptFailed(() => decryptRecord({ ...ref, [field]: '' }, sealed, dek));
  });

  test('fields swapped between positions fail (no ambiguity from concatenation)', () => {
    const dek = key();
    const odd: RecordRef = { resourceType: 'Patient', id: 'a', versionId: 'b', patientId: 'a' };
    const sealed = encryptRecord(odd, plaintext, dek);
    expectDecryptFailed(() => decryptRecord({ ...odd, id: 'ab', versionId: '' }, sealed, dek));
    expectDecryptFailed(() => decryptRecord({ ...odd, id: 'b', versionId: 'a' }, sealed, dek));
  });

  test('a ciphertext moved to another record version fails', () => {
    const dek = key();
    const v1 = encryptRecord({ ...ref, versionId: '1' }, plaintext, dek);
    expectDecryptFailed(() => decryptRecord({ ...ref, versionId: '2' }, v1, dek));
  });

  test('a bit flipped anywhere in the nonce or the ciphertext (tag included) fails', () => {
    const dek = key();
    const sealed = encryptRecord(ref, new TextEncoder().encode('short record'), dek);
    for (let bit = 0; bit < sealed.nonce.length * 8; bit++) {
      expectDecryptFailed(() => decryptRecord(ref, { ...sealed, nonce: flipBit(sealed.nonce, bit) }, dek));
    }
    for (let bit = 0; bit < sealed.ciphertext.length * 8; bit++) {
      expectDecryptFailed(() =>
        decryptRecord(ref, { ...sealed, ciphertext: flipBit(sealed.ciphertext, bit) }, dek),
      );
    }
  });

  test('truncated or extended ciphertexts fail', () => {
    const dek = key();
    const sealed = encryptRecord(ref, plaintext, dek);
    for (const ciphertext of [
      sealed.ciphertext.subarray(0, sealed.ciphertext.length - 1),
      sealed.ciphertext.subarray(0, 15),
      new Uint8Array(0),
      new Uint8Array([...sealed.ciphertext, 0]),
    ]) {
      expectDecryptFailed(() => decryptRecord(ref, { ...sealed, ciphertext }, dek));
    }
  });

  test("another patient's key, or the wrong key version, fails", () => {
    const dek = key();
    const sealed = encryptRecord(ref, plaintext, dek);
    expectDecryptFailed(() => decryptRecord(ref, sealed, key()));
    expectDecryptFailed(() => decryptRecord(ref, sealed, { ...dek, version: 2 }));
    expectDecryptFailed(() => decryptRecord(ref, { ...sealed, keyVersion: 2 }, dek));
    expectDecryptFailed(() => decryptRecord(ref, { ...sealed, format: 2 } as unknown as SealedRecord, dek));
  });

  test('the error names the record ids only', () => {
    const dek = key();
    const sealed = encryptRecord(ref, plaintext, dek);
    try {
      decryptRecord(ref, sealed, key());
      expect.unreachable();
    } catch (error) {
      expect((error as CareLedgerError).details).toEqual({
        resourceType: 'Observation',
        id: 'obs-1',
        versionId: '3',
        reason: 'decrypt-failed',
      });
    }
  });

  test('records with no patient use the node key under patientId ""', () => {
    const nodeKey = key();
    const org: RecordRef = { resourceType: 'Organization', id: 'org-1', versionId: '1', patientId: '' };
    const sealed = encryptRecord(org, plaintext, nodeKey);
    expect(decryptRecord(org, sealed, nodeKey)).toEqual(plaintext);
    expectDecryptFailed(() => decryptRecord({ ...org, patientId: 'org-1' }, sealed, nodeKey));
  });

  test('property: the associated data is encodeFields of (label, format, type, id, version, patient)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.string({ unit: 'binary' }),
        fc.string(),
        fc.string({ unit: 'grapheme-ascii' }),
        (resourceType, id, versionId, patientId) => {
          const fields = ['careledger/vault/record', '1', resourceType, id, versionId, patientId];
          let expected: Uint8Array | undefined;
          try {
            expected = encodeFields(fields);
          } catch {
            expected = undefined;
          }
          const made = () => encodeRecordAssociatedData({ resourceType, id, versionId, patientId });
          if (expected === undefined) expect(made).toThrow(TypeError);
          else expect(Buffer.from(made()).equals(expected)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
    expect(() =>
      encodeRecordAssociatedData({ resourceType: 'P', id: '\udc00', versionId: '1', patientId: '' }),
    ).toThrow(TypeError);
  });

  test('the associated data is the length-prefixed (label, format, type, id, version, patient)', () => {
    const aad = Buffer.from(
      encodeRecordAssociatedData({ resourceType: 'P', id: 'i', versionId: 'v', patientId: '' }),
    );
    const label = Buffer.from('careledger/vault/record');
    expect(aad.readUInt32BE(0)).toBe(label.length);
    expect(aad.subarray(4, 4 + label.length)).toEqual(label);
    expect(aad.subarray(4 + label.length).toString('hex')).toBe(
      '0000000131' + '0000000150' + '0000000169' + '0000000176' + '00000000',
    );
  });

  test('property: random payloads and ids round-trip, and any other ref fails', () => {
    const refs = fc.record({
      resourceType: fc.string({ unit: 'grapheme', maxLength: 20 }),
      id: fc.string({ unit: 'grapheme', maxLength: 64 }),
      versionId: fc.string({ unit: 'grapheme', maxLength: 20 }),
      patientId: fc.string({ unit: 'grapheme', maxLength: 64 }),
    });
    fc.assert(
      fc.property(refs, refs, fc.uint8Array({ maxLength: 2048 }), (a, b, payload) => {
        const dek = key();
        const sealed = encryptRecord(a, payload, dek);
        expect(decryptRecord(a, sealed, dek)).toEqual(payload);
        if (JSON.stringify(a) !== JSON.stringify(b)) expectDecryptFailed(() => decryptRecord(b, sealed, dek));
      }),
      { numRuns: 300 },
    );
  });

  test('property: any single bit flip in nonce or ciphertext fails', () => {
    const dek = key();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.nat(), fc.boolean(), (payload, n, inNonce) => {
        const sealed = encryptRecord(ref, payload, dek);
        const target = inNonce ? sealed.nonce : sealed.ciphertext;
        const flipped = flipBit(target, n % (target.length * 8));
        const altered = inNonce ? { ...sealed, nonce: flipped } : { ...sealed, ciphertext: flipped };
        expectDecryptFailed(() => decryptRecord(ref, altered, dek));
      }),
      { numRuns: 300 },
    );
  });
});
