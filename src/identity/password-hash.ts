import { randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';
import { deriveScryptKey, evaluateScryptParameters, type ScryptParameters } from './derive-scrypt-key.js';

/**
 * Password hashes as PHC strings (github.com/P-H-C/phc-string-format):
 *
 *   $scrypt$ln=15,r=8,p=1$<salt>$<hash>
 *
 * `ln` is log2(N); salt and hash are standard base64 without padding (the PHC "B64" encoding).
 * The parameters travel with the hash, so raising the cost later does not break stored hashes.
 */
const PREFIX = 'scrypt';

/**
 * Default N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s here): a login-server budget. OWASP's Password
 * Storage Cheat Sheet lists N = 2^17, r = 8, p = 1 as its minimum, or 2^15 with p = 3; pass `p`
 * or `N` to move there.
 */
const DEFAULT_PARAMETERS: ScryptParameters = { N: 2 ** 15, r: 8, p: 1 };
const SALT_SIZE = 16;
const KEY_SIZE = 32;
/** Bounds on what we accept from a stored string. */
const MIN_STORED_SALT_SIZE = 8;
const MAX_STORED_SALT_SIZE = 64;
const MIN_STORED_KEY_SIZE = 16;
const MAX_STORED_KEY_SIZE = 64;

/** NIST SP 800-63B §5.1.1.2: at least 8 characters; the upper bound caps the work a request can cause. */
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

export interface PasswordHashOptions {
  /** scrypt cost, a power of two. Default 2^15. */
  readonly N?: number;
  readonly r?: number;
  readonly p?: number;
  readonly randomBytes?: (size: number) => Uint8Array;
}

export interface PasswordHash extends ScryptParameters {
  readonly salt: Uint8Array;
  readonly hash: Uint8Array;
}

/** Hashes a new password; rejects passwords outside 8..1024 characters (Unicode code points). */
export async function createPasswordHash(
  password: string,
  options: PasswordHashOptions = {},
): Promise<string> {
  const normalized = normalizePassword(password);
  const length = [...normalized].length;
  if (length < MIN_PASSWORD_LENGTH || length > MAX_PASSWORD_LENGTH) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      `password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long`,
      { details: { field: 'password' } },
    );
  }
  const params: ScryptParameters = {
    N: options.N ?? DEFAULT_PARAMETERS.N,
    r: options.r ?? DEFAULT_PARAMETERS.r,
    p: options.p ?? DEFAULT_PARAMETERS.p,
  };
  const check = evaluateScryptParameters(params);
  if (!check.ok) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `invalid scrypt parameters: ${check.reason}`, {
      details: { N: params.N, r: params.r, p: params.p },
    });
  }
  const salt = (options.randomBytes ?? nodeRandomBytes)(SALT_SIZE);
  if (salt.length !== SALT_SIZE) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `randomBytes must return ${SALT_SIZE} bytes`);
  }
  const hash = await deriveScryptKey(normalized, salt, params, KEY_SIZE);
  return formatPasswordHash({ ...params, salt, hash });
}

/**
 * Checks a password against a stored PHC string in constant time. Returns false on a mismatch;
 * throws ERR_INVALID_INPUT only when `encoded` itself is not a hash we wrote.
 */
export async function isPasswordCorrect(password: string, encoded: string): Promise<boolean> {
  const stored = parsePasswordHash(encoded);
  const normalized = normalizePassword(password);
  // createPasswordHash never accepted such a password, so it cannot match; skip the work.
  if ([...normalized].length > MAX_PASSWORD_LENGTH) return false;
  const candidate = await deriveScryptKey(normalized, stored.salt, stored, stored.hash.length);
  return timingSafeEqual(candidate, stored.hash);
}

/** Parses `$scrypt$ln=…,r=…,p=…$salt$hash` strictly; callers may compare N with policy to rehash. */
export function parsePasswordHash(encoded: string): PasswordHash {
  const invalid = (reason: string) =>
    new CareLedgerError('ERR_INVALID_INPUT', `invalid password hash: ${reason}`, { details: { reason } });
  if (typeof encoded !== 'string') throw invalid('not a string');
  const fields = encoded.split('$');
  if (fields.length !== 5 || fields[0] !== '' || fields[1] !== PREFIX) {
    throw invalid('expected $scrypt$ln=…,r=…,p=…$salt$hash');
  }
  const match = /^ln=([1-9][0-9]?),r=([1-9][0-9]{0,2}),p=([1-9][0-9]{0,2})$/.exec(fields[2] ?? '');
  if (!match) throw invalid('expected parameters ln=…,r=…,p=…');
  const params: ScryptParameters = { N: 2 ** Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  const check = evaluateScryptParameters(params);
  if (!check.ok) throw invalid(check.reason);
  const salt = decodeUnpaddedBase64(fields[3] ?? '');
  if (!salt || salt.length < MIN_STORED_SALT_SIZE || salt.length > MAX_STORED_SALT_SIZE) {
    throw invalid(`salt must be ${MIN_STORED_SALT_SIZE} to ${MAX_STORED_SALT_SIZE} bytes of unpadded base64`);
  }
  const hash = decodeUnpaddedBase64(fields[4] ?? '');
  if (!hash || hash.length < MIN_STORED_KEY_SIZE || hash.length > MAX_STORED_KEY_SIZE) {
    throw invalid(`hash must be ${MIN_STORED_KEY_SIZE} to ${MAX_STORED_KEY_SIZE} bytes of unpadded base64`);
  }
  return { ...params, salt, hash };
}

function formatPasswordHash(value: PasswordHash): string {
  const ln = Math.log2(value.N);
  const salt = encodeUnpaddedBase64(value.salt);
  const hash = encodeUnpaddedBase64(value.hash);
  return `$${PREFIX}$ln=${ln},r=${value.r},p=${value.p}$${salt}$${hash}`;
}

/**
 * NIST SP 800-63B §5.1.1.2: apply NFKC before hashing, so the same password typed on two keyboards
 * (composed or decomposed accents, full-width digits) hashes the same.
 */
function normalizePassword(password: string): string {
  if (typeof password !== 'string') {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'password must be a string', {
      details: { field: 'password' },
    });
  }
  return password.normalize('NFKC');
}

function encodeUnpaddedBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').replace(/=+$/, '');
}

/** RFC 4648 §4 alphabet, padding omitted (§3.2); only the canonical encoding of each byte string. */
function decodeUnpaddedBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  // RFC 4648 §3.5: non-zero pad bits would give two strings for one byte string; refuse them.
  return encodeUnpaddedBase64(bytes) === text ? bytes : undefined;
}
