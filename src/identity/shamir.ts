import { createHash, randomBytes as nodeRandomBytes } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';

/**
 * Shamir's secret sharing (A. Shamir, "How to Share a Secret", CACM 22(11), 1979), byte by byte
 * over GF(2^8): each secret byte is the constant term of its own random polynomial of degree
 * k - 1, and a share is that polynomial evaluated at a non-zero x.
 *
 * Any k shares give the secret back by Lagrange interpolation at x = 0; k - 1 shares say nothing
 * about it (every secret is equally consistent with them). The flip side: combining too few
 * shares, or a share from another split, or a forged one, does not fail. It quietly yields some
 * other byte string. `combineShares` therefore needs k genuine shares of one split, and the caller
 * must check what comes out: for a patient's ledger key, that the recovered key's address is the
 * patient's known ledger address.
 */
export interface Share {
  /** The evaluation point, 1 to 255 (x = 0 would be the secret itself). */
  readonly x: number;
  readonly y: Uint8Array;
}

export interface SplitSecretOptions {
  /** n, how many shares to make. */
  readonly shares: number;
  /** k, how many shares recover the secret: 2 ≤ k ≤ n ≤ 255. */
  readonly threshold: number;
}

/** Secrets are keys, not documents: bound the sizes we accept from guardians' text. */
export const MAX_SECRET_SIZE = 1024;

// --- GF(2^8) ---------------------------------------------------------------------------------

/** FIPS-197 §4.2.1: multiplication by x ({02}), reducing by m(x) = x^8 + x^4 + x^3 + x + 1 ({11b}). */
function xtime(a: number): number {
  return ((a << 1) ^ (-(a >> 7) & 0x1b)) & 0xff;
}

/**
 * Log and antilog tables to the generator {03}, which has order 255 in the AES field. Only public
 * values are looked up in them (the x coordinates, in `lagrangeAtZero`): a table indexed by a
 * secret byte leaks it through cache timing, so secret bytes go through `gfMultiply` instead.
 */
const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
{
  let value = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = value;
    EXP[i + 255] = value;
    LOG[value] = i;
    value ^= xtime(value);
  }
}

/** Product in GF(2^8) (FIPS-197 §4.2), without branches or table lookups on the operands. */
export function gfMultiply(a: number, b: number): number {
  let product = 0;
  let x = a & 0xff;
  let y = b & 0xff;
  for (let bit = 0; bit < 8; bit++) {
    product ^= -(y & 1) & x;
    x = xtime(x);
    y >>= 1;
  }
  return product;
}

/** Multiplicative inverse of a non-zero element, from the tables: for public values only. */
export function gfInverse(a: number): number {
  if (!Number.isInteger(a) || a < 1 || a > 255) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'zero has no inverse in GF(2^8)');
  }
  return EXP[255 - (LOG[a] ?? 0)] ?? 0;
}

/** Product from the tables, to cross-check `gfMultiply`; for public values only. */
export function gfMultiplyByTables(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[(LOG[a] ?? 0) + (LOG[b] ?? 0)] ?? 0;
}

// --- Splitting and combining ------------------------------------------------------------------

/**
 * Splits `secret` into `shares` shares at x = 1..n, any `threshold` of which recover it.
 * `random(size)` supplies the polynomial coefficients (secret.length · (k - 1) bytes); inject it
 * only in tests.
 */
export function splitSecret(
  secret: Uint8Array,
  options: SplitSecretOptions,
  random: (size: number) => Uint8Array = nodeRandomBytes,
): Share[] {
  const { shares: n, threshold: k } = options;
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 2 || k > n || n > 255) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'need 2 ≤ threshold ≤ shares ≤ 255', {
      details: { shares: n, threshold: k },
    });
  }
  verifySecretSize(secret, 'secret');
  const degree = k - 1;
  const coefficients = random(secret.length * degree);
  if (!(coefficients instanceof Uint8Array) || coefficients.length !== secret.length * degree) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `random must return ${secret.length * degree} bytes`);
  }
  const result: Share[] = [];
  for (let x = 1; x <= n; x++) {
    const y = new Uint8Array(secret.length);
    for (let i = 0; i < secret.length; i++) {
      // Horner's rule: f(x) = (((a_{k-1}·x + a_{k-2})·x + …)·x + secret[i].
      let acc = 0;
      for (let d = degree; d >= 1; d--) acc = gfMultiply(acc, x) ^ (coefficients[i * degree + d - 1] ?? 0);
      y[i] = gfMultiply(acc, x) ^ (secret[i] ?? 0);
    }
    result.push({ x, y });
  }
  coefficients.fill(0);
  return result;
}

export interface CombineSharesOptions {
  /** When known (e.g. from the shares' text), refuse fewer shares than this. */
  readonly threshold?: number;
}

/**
 * Lagrange interpolation at x = 0. Needs at least k shares of one split (more are fine); with
 * fewer it returns a wrong value without noticing, so check the result (see the module comment).
 */
export function combineShares(shares: readonly Share[], options: CombineSharesOptions = {}): Uint8Array {
  if (!Array.isArray(shares) || shares.length < 2 || shares.length > 255) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'need 2 to 255 shares');
  }
  if (options.threshold !== undefined && shares.length < options.threshold) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `need at least ${options.threshold} shares`, {
      details: { shares: shares.length, threshold: options.threshold },
    });
  }
  const seen = new Set<number>();
  const size = shares[0]?.y?.length;
  for (const share of shares) {
    if (!Number.isInteger(share?.x) || share.x < 1 || share.x > 255) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'share x must be an integer from 1 to 255');
    }
    if (seen.has(share.x)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'two shares have the same x', {
        details: { x: share.x },
      });
    }
    seen.add(share.x);
    verifySecretSize(share.y, 'share y');
    if (share.y.length !== size) throw new CareLedgerError('ERR_INVALID_INPUT', 'shares differ in length');
  }
  const weights = lagrangeAtZero(shares.map((share) => share.x));
  const secret = new Uint8Array(size ?? 0);
  shares.forEach((share, j) => {
    const weight = weights[j] ?? 0;
    for (let i = 0; i < secret.length; i++)
      secret[i] = (secret[i] ?? 0) ^ gfMultiply(weight, share.y[i] ?? 0);
  });
  return secret;
}

/** ℓ_j(0) = Π_{m≠j} x_m / (x_m − x_j); subtraction is XOR in characteristic 2. */
function lagrangeAtZero(xs: readonly number[]): number[] {
  return xs.map((xj, j) => {
    let weight = 1;
    xs.forEach((xm, m) => {
      if (m !== j) weight = gfMultiplyByTables(weight, gfMultiplyByTables(xm, gfInverse(xm ^ xj)));
    });
    return weight;
  });
}

// --- Text for guardians -----------------------------------------------------------------------

const SHARE_PREFIX = 'careledger-share-v1';
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const SHARE_PATTERN =
  /^careledger-share-v1:([A-Za-z0-9_-]{1,64}):([1-9][0-9]{0,2}):([1-9][0-9]{0,2}):((?:[0-9a-f]{2})+):([0-9a-f]{8})$/;

export interface ShareLabel {
  /** How many shares recover the secret, so a guardian-facing tool can say how many are missing. */
  readonly threshold: number;
  /** Names the split (letters, digits, "_", "-"; up to 64) so shares of different splits are not mixed. */
  readonly id: string;
}

export interface GuardianShare extends Share, ShareLabel {}

/**
 * `careledger-share-v1:<id>:<threshold>:<x>:<y as lower-case hex>:<checksum>`, where the
 * checksum is the first 4 bytes of SHA-256 over everything before its colon, in hex. It catches
 * typing and copying mistakes; it is not a signature, since anyone can recompute it.
 */
export function formatShare(share: Share, label: ShareLabel): string {
  if (typeof label.id !== 'string' || !ID_PATTERN.test(label.id)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'share id must be 1 to 64 letters, digits, "_" or "-"');
  }
  if (!Number.isInteger(label.threshold) || label.threshold < 2 || label.threshold > 255) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'threshold must be an integer from 2 to 255');
  }
  if (!Number.isInteger(share.x) || share.x < 1 || share.x > 255) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'share x must be an integer from 1 to 255');
  }
  verifySecretSize(share.y, 'share y');
  const y = Buffer.from(share.y).toString('hex');
  const body = `${SHARE_PREFIX}:${label.id}:${label.threshold}:${share.x}:${y}`;
  return `${body}:${shareChecksum(body)}`;
}

/** Parses a guardian's share text (surrounding whitespace allowed); a wrong checksum is ERR_INVALID_INPUT. */
export function parseShare(text: string): GuardianShare {
  const invalid = (reason: string) =>
    new CareLedgerError('ERR_INVALID_INPUT', `invalid share: ${reason}`, { details: { reason } });
  if (typeof text !== 'string') throw invalid('not a string');
  const trimmed = text.trim();
  if (trimmed.length > 2 * MAX_SECRET_SIZE + 128) throw invalid(`share longer than ${MAX_SECRET_SIZE} bytes`);
  const match = SHARE_PATTERN.exec(trimmed);
  if (!match) throw invalid(`expected ${SHARE_PREFIX}:<id>:<threshold>:<x>:<hex>:<checksum>`);
  const [, id = '', thresholdText, xText, yHex = '', checksum] = match;
  if (shareChecksum(trimmed.slice(0, trimmed.lastIndexOf(':'))) !== checksum) {
    throw invalid('checksum mismatch (mistyped or damaged)');
  }
  const threshold = Number(thresholdText);
  const x = Number(xText);
  if (threshold < 2 || threshold > 255) throw invalid('threshold must be from 2 to 255');
  if (x > 255) throw invalid('x must be from 1 to 255');
  return { id, threshold, x, y: new Uint8Array(Buffer.from(yHex, 'hex')) };
}

function shareChecksum(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest().subarray(0, 4).toString('hex');
}

function verifySecretSize(bytes: Uint8Array, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length < 1 || bytes.length > MAX_SECRET_SIZE) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${what} must be 1 to ${MAX_SECRET_SIZE} bytes`);
  }
}
