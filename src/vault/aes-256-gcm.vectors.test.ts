import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { openAes256Gcm, sealAes256Gcm } from './aes-256-gcm.js';

// NIST CAVP GCMVS cases (gcmEncryptExtIV256.rsp, gcmDecrypt256.rsp); see the SOURCE.md beside them.
const FILE = join(import.meta.dirname, '../../test/vectors/nist-gcm/aes-256-gcm.json');

interface Vector {
  file: string;
  section: string;
  count: number;
  key: string;
  iv: string;
  aad: string;
  pt: string | null;
  ct: string;
  tag: string;
  result: 'PASS' | 'FAIL';
}

const vectors = JSON.parse(readFileSync(FILE, 'utf8')) as { encrypt: Vector[]; decrypt: Vector[] };
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const name = (v: Vector) => `${v.file} ${v.section} Count = ${v.count} (${v.result})`;

describe('AES-256-GCM against NIST CAVP vectors', () => {
  test('the selection holds the expected cases, all with associated data or a FAIL', () => {
    expect(vectors.encrypt).toHaveLength(6);
    expect(vectors.decrypt).toHaveLength(10);
    expect(vectors.decrypt.filter((v) => v.result === 'FAIL')).toHaveLength(4);
    for (const v of [...vectors.encrypt, ...vectors.decrypt]) expect(v.aad.length).toBeGreaterThan(0);
  });

  test.each(vectors.encrypt.map((v) => [name(v), v] as const))('encrypt %s', (_, v) => {
    const sealed = sealAes256Gcm(hex(v.key), hex(v.iv), hex(v.pt ?? ''), hex(v.aad));
    expect(toHex(sealed)).toBe(v.ct + v.tag);
    expect(toHex(openAes256Gcm(hex(v.key), hex(v.iv), sealed, hex(v.aad)))).toBe(v.pt);
  });

  test.each(vectors.decrypt.map((v) => [name(v), v] as const))('decrypt %s', (_, v) => {
    const open = () => openAes256Gcm(hex(v.key), hex(v.iv), hex(v.ct + v.tag), hex(v.aad));
    if (v.result === 'FAIL') expect(open).toThrow();
    else expect(toHex(open())).toBe(v.pt);
  });
});
