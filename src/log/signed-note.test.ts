import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { reasonOf } from '../../test/support/reason-of.js';
import { CareLedgerError } from '../errors/index.js';
import {
  addNoteSignatures,
  createSignerKey,
  formatVerifierKey,
  parseSignedNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifierOf,
  verifyNote,
} from './signed-note.js';

// Known answers from c2sp.org/signed-note and golang.org/x/mod/sumdb/note; see SOURCE.md beside them.
const VECTORS = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../test/vectors/c2sp/signed-note.json'), 'utf8'),
) as {
  'c2sp-signed-note-example': { verifierKey: string; note: string };
  'go-sumdb-note-example': { signerKey: string; verifierKey: string; text: string; note: string };
};
const GO = VECTORS['go-sumdb-note-example'];
const SPEC = VECTORS['c2sp-signed-note-example'];

const TEXT = 'careledger.example/log\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';

describe('known answers', () => {
  test('the Go reference example is reproduced byte for byte', () => {
    const signer = parseSignerKey(GO.signerKey);
    expect(Buffer.from(signer.keyId).toString('hex')).toBe('c74f20a3');
    expect(signNote(GO.text, [signer])).toBe(GO.note);
    const v = parseVerifierKey(GO.verifierKey);
    expect(Buffer.from(v.publicKey)).toEqual(Buffer.from(signer.publicKey));
    expect(formatVerifierKey(v.name, v.type, v.publicKey)).toBe(GO.verifierKey);
    const out = verifyNote(GO.note, [v]);
    expect(out.text).toBe(GO.text);
    expect(out.verified.map((s) => s.verifier.name)).toEqual(['PeterNeumann']);
  });

  test('the C2SP spec example verifies', () => {
    const v = parseVerifierKey(SPEC.verifierKey);
    expect(verifyNote(SPEC.note, [v]).text).toBe('This is an example message.\n');
  });
});

describe('keys', () => {
  test('generated keys round-trip and match', () => {
    const { signerKey, verifierKey } = createSignerKey('careledger.example/log');
    const signer = parseSignerKey(signerKey);
    const verifier = parseVerifierKey(verifierKey);
    expect(verifierOf(signer)).toEqual(verifier);
    expect(verifierKey).toMatch(/^careledger\.example\/log\+[0-9a-f]{8}\+A[Q-Za-f]/);
    const cosigner = createSignerKey('witness.example/w1', { type: 'cosignature/v1' });
    expect(parseVerifierKey(cosigner.verifierKey).type).toBe('cosignature/v1');
    expect(cosigner.verifierKey).toMatch(/\+B[A-P]/);
  });

  test.each([
    ['no separators', 'PeterNeumann', 'key-format'],
    ['bad name', 'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'key-name'],
    ['empty name', '+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'key-name'],
    ['uppercase id', 'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'key-id'],
    ['short id', 'PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'key-id'],
    ['wrong id', 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'key-id-mismatch'],
    ['wrong name', 'PeterNeuman+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'key-id-mismatch'],
    ['bad base64', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T', 'key-encoding'],
    ['trailing space', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW ', 'key-encoding'],
    ['unknown type', 'PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'key-type'],
    [
      'non-canonical base64',
      'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==',
      'key-encoding',
    ],
    ['33-byte key', 'PeterNeumann+cc469956+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==', 'key-length'],
  ])('verifier key with %s is rejected', (_what, key, reason) => {
    expect(reasonOf(() => parseVerifierKey(key))).toBe(`ERR_INVALID_INPUT:${reason}`);
  });

  test('signer keys are strict too', () => {
    expect(reasonOf(() => parseSignerKey(GO.verifierKey))).toBe('ERR_INVALID_INPUT:key-format');
    expect(reasonOf(() => parseSignerKey(GO.signerKey.replace('c74f20a3', 'c74f20a4')))).toBe(
      'ERR_INVALID_INPUT:key-id-mismatch',
    );
    expect(reasonOf(() => createSignerKey('has+plus'))).toBe('ERR_INVALID_INPUT:key-name');
  });
});

describe('signing and verification', () => {
  const log = parseSignerKey(createSignerKey('careledger.example/log').signerKey);
  const other = parseSignerKey(createSignerKey('careledger.example/log').signerKey);
  const w1 = parseSignerKey(createSignerKey('witness.example/w1', { type: 'cosignature/v1' }).signerKey);
  const w2 = parseSignerKey(createSignerKey('witness.example/w2', { type: 'cosignature/v1' }).signerKey);

  test('unknown keys are ignored; known keys are reported with cosignature timestamps', () => {
    const note = signNote(TEXT, [log, w1, other], { timestamp: 1_700_000_000 });
    const out = verifyNote(note, [verifierOf(log), verifierOf(w1), verifierOf(w2)]);
    expect(out.verified.map((v) => v.verifier.name)).toEqual([
      'careledger.example/log',
      'witness.example/w1',
    ]);
    expect(out.verified[1]?.timestamp).toBe(1_700_000_000);
  });

  test('a witness adds its cosignature to a signed checkpoint', () => {
    const note = addNoteSignatures(signNote(TEXT, [log]), [w2], { timestamp: 5 });
    expect(verifyNote(note, [verifierOf(w2)]).verified[0]?.timestamp).toBe(5);
    expect(verifyNote(note, [verifierOf(log)]).verified).toHaveLength(1);
  });

  test('the cosigned message is cosignature/v1, the time line and the body', () => {
    const note = parseSignedNote(signNote(TEXT, [w1], { timestamp: 7 }));
    const sig = note.signatures[0];
    expect(sig?.signature.length).toBe(8 + 64);
    expect(Buffer.from(sig?.signature.subarray(0, 8) ?? []).readBigUInt64BE()).toBe(7n);
    // Changing the timestamp bytes breaks the signature: the time is signed.
    const forged = sig?.signature.slice() ?? new Uint8Array();
    forged[7] = 8;
    const tampered = {
      text: note.text,
      signatures: [{ ...sig, name: w1.name, keyId: w1.keyId, signature: forged }],
    };
    expect(reasonOf(() => verifyNote(tampered, [verifierOf(w1)]))).toBe(
      'ERR_LOG_NOTE_INVALID:signature-invalid',
    );
  });

  test('cosigning needs an injected timestamp', () => {
    expect(reasonOf(() => signNote(TEXT, [w1]))).toBe('ERR_INVALID_INPUT:timestamp');
  });

  test('a known key whose signature fails rejects the note', () => {
    const note = signNote(TEXT, [log]);
    const tampered = note.replace('42\n', '43\n');
    expect(reasonOf(() => verifyNote(tampered, [verifierOf(log)]))).toBe(
      'ERR_LOG_NOTE_INVALID:signature-invalid',
    );
  });

  test('a key with the same name but a different ID is ignored, so nothing verifies', () => {
    const note = signNote(TEXT, [other]);
    expect(reasonOf(() => verifyNote(note, [verifierOf(log)]))).toBe(
      'ERR_LOG_NOTE_INVALID:insufficient-signatures',
    );
  });

  test('k-of-n minimum and duplicate signatures', () => {
    const note = signNote(TEXT, [w1, w1], { timestamp: 1 });
    expect(verifyNote(note, [verifierOf(w1)]).verified).toHaveLength(1);
    expect(reasonOf(() => verifyNote(note, [verifierOf(w1), verifierOf(w2)], { minimum: 2 }))).toBe(
      'ERR_LOG_NOTE_INVALID:insufficient-signatures',
    );
    expect(verifyNote(note, [], { minimum: 0 }).verified).toEqual([]);
    expect(reasonOf(() => verifyNote(note, [verifierOf(w1), verifierOf(w1)]))).toBe(
      'ERR_INVALID_INPUT:ambiguous-verifier',
    );
  });

  test('text must end in a newline and contain no control characters', () => {
    expect(reasonOf(() => signNote('no newline', [log]))).toBe(
      'ERR_LOG_NOTE_INVALID:text-not-newline-terminated',
    );
    expect(reasonOf(() => signNote('tab\there\n', [log]))).toBe('ERR_LOG_NOTE_INVALID:control-character');
  });
});

describe('strict parsing', () => {
  const sigLine = GO.note.slice(GO.text.length + 1);
  test.each([
    ['no blank line', GO.text + sigLine, 'missing-signature-block'],
    ['no signatures', `${GO.text}\n`, 'no-signatures'],
    ['missing final newline', GO.note.slice(0, -1), 'malformed-signature-line'],
    ['trailing blank line', `${GO.note}\n`, 'no-signatures'],
    ['hyphen instead of em dash', GO.note.replace('\u2014', '-'), 'malformed-signature-line'],
    ['double space', GO.note.replace('\u2014 Peter', '\u2014  Peter'), 'invalid-key-name'],
    ['extra space before base64', GO.note.replace('Neumann ', 'Neumann  '), 'malformed-signature'],
    ['trailing space', GO.note.replace('AM=\n', 'AM= \n'), 'malformed-signature'],
    ['no signature after name', `${GO.text}\n\u2014 PeterNeumann\n`, 'malformed-signature-line'],
    ['short signature', `${GO.text}\n\u2014 PeterNeumann AAAA\n`, 'malformed-signature'],
    ['name with plus', GO.note.replace('PeterNeumann', 'Peter+Neumann'), 'invalid-key-name'],
    ['carriage return', GO.note.replace('problem,\n', 'problem,\r\n'), 'control-character'],
    ['NUL', GO.note.replace('If', 'I\u0000f'), 'control-character'],
    ['lone surrogate', GO.note.replace('If', 'I\ud800f'), 'not-utf8'],
  ])('rejects a note with %s', (_what, note, reason) => {
    expect(reasonOf(() => parseSignedNote(note))).toBe(`ERR_LOG_NOTE_INVALID:${reason}`);
  });

  test('rejects invalid UTF-8 bytes', () => {
    const bytes = Buffer.concat([Buffer.from([0xff]), Buffer.from(GO.note)]);
    expect(reasonOf(() => parseSignedNote(bytes))).toBe('ERR_LOG_NOTE_INVALID:not-utf8');
  });

  test('accepts 100 signatures but not 101', () => {
    const line = sigLine;
    expect(parseSignedNote(`${GO.text}\n${line.repeat(100)}`).signatures).toHaveLength(100);
    expect(reasonOf(() => parseSignedNote(`${GO.text}\n${line.repeat(101)}`))).toBe(
      'ERR_LOG_NOTE_INVALID:too-many-signatures',
    );
  });

  test('text may contain blank lines: the last blank line separates the signatures', () => {
    const text = 'a\n\nb\n';
    const signer = parseSignerKey(GO.signerKey);
    const note = signNote(text, [signer]);
    expect(parseSignedNote(note).text).toBe(text);
    expect(parseSignedNote(new TextEncoder().encode(note)).text).toBe(text);
  });

  test('every single-bit flip of the Go note is rejected', () => {
    const v = parseVerifierKey(GO.verifierKey);
    const bytes = Buffer.from(GO.note);
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = Buffer.from(bytes);
        copy[i] = (copy[i] ?? 0) ^ (1 << bit);
        let ok = false;
        try {
          ok = verifyNote(copy, [v]).verified.length > 0;
        } catch (e) {
          expect(e).toBeInstanceOf(CareLedgerError);
        }
        expect(ok, `flip byte ${i} bit ${bit}`).toBe(false);
      }
    }
  });
});
