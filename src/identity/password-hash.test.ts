import { describe, expect, it } from 'vitest';
import { errorOf } from '../../test/support/reason-of.js';
import { createPasswordHash, isPasswordCorrect, parsePasswordHash } from './password-hash.js';

// Small costs keep the suite fast; the default cost is exercised once.
const FAST = { N: 2 ** 10 };
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64').replace(/=+$/, '');

describe('createPasswordHash and isPasswordCorrect', () => {
  it('round-trips, with a fresh salt each time', async () => {
    const first = await createPasswordHash('correct horse battery staple', FAST);
    const second = await createPasswordHash('correct horse battery staple', FAST);
    expect(first).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(second).not.toBe(first);
    expect(await isPasswordCorrect('correct horse battery staple', first)).toBe(true);
    expect(await isPasswordCorrect('correct horse battery staple', second)).toBe(true);
  });

  it('uses N = 2^15, r = 8, p = 1 by default', async () => {
    const encoded = await createPasswordHash('a default-cost password');
    expect(encoded.startsWith('$scrypt$ln=15,r=8,p=1$')).toBe(true);
    expect(await isPasswordCorrect('a default-cost password', encoded)).toBe(true);
  });

  it('returns false for a wrong password', async () => {
    const encoded = await createPasswordHash('correct horse battery staple', FAST);
    expect(await isPasswordCorrect('correct horse battery stapler', encoded)).toBe(false);
    expect(await isPasswordCorrect('', encoded)).toBe(false);
    expect(await isPasswordCorrect('x'.repeat(1025), encoded)).toBe(false);
  });

  it('returns false when the hash, the salt or a parameter was altered', async () => {
    const encoded = await createPasswordHash('correct horse battery staple', FAST);
    const [, , params, salt = '', hash = ''] = encoded.split('$');
    const flip = (text: string) => (text[0] === 'A' ? 'B' : 'A') + text.slice(1);
    for (const tampered of [
      `$scrypt$${params}$${salt}$${flip(hash)}`,
      `$scrypt$${params}$${flip(salt)}$${hash}`,
      `$scrypt$ln=11,r=8,p=1$${salt}$${hash}`,
      `$scrypt$ln=10,r=8,p=2$${salt}$${hash}`,
    ]) {
      expect(await isPasswordCorrect('correct horse battery staple', tampered)).toBe(false);
    }
  });

  it('reads N, r and p from the string, not from defaults', async () => {
    const encoded = await createPasswordHash('correct horse battery staple', { N: 2 ** 11, r: 4, p: 2 });
    expect(encoded.startsWith('$scrypt$ln=11,r=4,p=2$')).toBe(true);
    const parsed = parsePasswordHash(encoded);
    expect({ N: parsed.N, r: parsed.r, p: parsed.p }).toEqual({ N: 2048, r: 4, p: 2 });
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.hash).toHaveLength(32);
    expect(await isPasswordCorrect('correct horse battery staple', encoded)).toBe(true);
  });

  it('verifies the RFC 7914 §12 scrypt vector written as a PHC string', async () => {
    // scrypt(P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1, dkLen=64), RFC 7914 §12.
    const dk =
      '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2' +
      'd5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887';
    const salt = b64(Buffer.from('SodiumChloride').toString('hex'));
    const encoded = `$scrypt$ln=14,r=8,p=1$${salt}$${b64(dk)}`;
    expect(await isPasswordCorrect('pleaseletmein', encoded)).toBe(true);
    expect(await isPasswordCorrect('pleaseletmeout', encoded)).toBe(false);
  });

  it('uses the injected salt source', async () => {
    const encoded = await createPasswordHash('correct horse battery staple', {
      ...FAST,
      randomBytes: (size) => new Uint8Array(size).fill(7),
    });
    expect(encoded.split('$')[3]).toBe(b64('07'.repeat(16)));
  });

  it('treats canonically equivalent spellings as the same password (NFKC)', async () => {
    const decomposed = 'cafe\u0301 au lait';
    const composed = 'caf\u00e9 au lait';
    const encoded = await createPasswordHash(decomposed, FAST);
    expect(await isPasswordCorrect(composed, encoded)).toBe(true);
  });

  it('rejects passwords shorter than 8 or longer than 1024 characters', async () => {
    await expect(createPasswordHash('1234567', FAST)).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    await expect(createPasswordHash('x'.repeat(1025), FAST)).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    // Counted in code points: eight emoji are eight characters, not sixteen UTF-16 units.
    await expect(createPasswordHash('🔑'.repeat(7), FAST)).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
    expect(await createPasswordHash('🔑'.repeat(8), FAST)).toMatch(/^\$scrypt\$/);
    expect(await createPasswordHash('x'.repeat(1024), FAST)).toMatch(/^\$scrypt\$/);
  });

  it('rejects unusable cost parameters', async () => {
    for (const options of [
      { N: 1000 },
      { N: 1 },
      { N: 2 ** 19 },
      { N: 2 ** 16, r: 1 },
      { r: 0 },
      { p: 1.5 },
    ]) {
      await expect(createPasswordHash('correct horse battery staple', options)).rejects.toMatchObject({
        code: 'ERR_INVALID_INPUT',
      });
    }
  });
});

describe('parsePasswordHash', () => {
  const salt = b64('00'.repeat(16));
  const hash = b64('11'.repeat(32));

  it.each([
    ['empty', ''],
    ['not PHC', 'hunter2'],
    ['another algorithm', `$argon2id$v=19$m=65536,t=3,p=4$${salt}$${hash}`],
    ['missing hash', `$scrypt$ln=10,r=8,p=1$${salt}`],
    ['extra field', `$scrypt$ln=10,r=8,p=1$${salt}$${hash}$`],
    ['parameters out of order', `$scrypt$r=8,ln=10,p=1$${salt}$${hash}`],
    ['leading zero', `$scrypt$ln=010,r=8,p=1$${salt}$${hash}`],
    ['ln = 0', `$scrypt$ln=0,r=8,p=1$${salt}$${hash}`],
    ['memory above the ceiling', `$scrypt$ln=19,r=8,p=1$${salt}$${hash}`],
    ['N too big for r (RFC 7914 §2)', `$scrypt$ln=16,r=1,p=1$${salt}$${hash}`],
    ['work above the ceiling', `$scrypt$ln=15,r=8,p=99$${salt}$${hash}`],
    ['padded base64', `$scrypt$ln=10,r=8,p=1$${salt}==$${hash}`],
    ['url-safe base64', `$scrypt$ln=10,r=8,p=1$${salt.replace(/.$/, '_')}$${hash}`],
    ['non-canonical pad bits', `$scrypt$ln=10,r=8,p=1$${salt.replace(/.$/, 'B')}$${hash}`],
    ['short salt', `$scrypt$ln=10,r=8,p=1$${b64('00'.repeat(4))}$${hash}`],
    ['short hash', `$scrypt$ln=10,r=8,p=1$${salt}$${b64('00'.repeat(8))}`],
  ])('throws ERR_INVALID_INPUT for %s', async (_, encoded) => {
    expect(errorOf(() => parsePasswordHash(encoded))).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    await expect(isPasswordCorrect('correct horse battery staple', encoded)).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });
});
