import { createHash } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { CareLedgerError } from '../errors/index.js';

/**
 * Shamir's secret sharing (A. Shamir, "How to Share a Secret", CACM 22(11), 1979) through the
 * audited `shamir-secret-sharing` package (Privy; audited by Cure53 and Zellic, 2024): byte by byte
 * over GF(2^8) with the AES polynomial, each share at a random distinct non-zero x. We keep only the
 * `careledger-share-v1` text guardians hold and the checks around it (docs/decisions/0009).
 *
 * Any k shares give the secret back by Lagrange interpolation at x = 0; k - 1 shares say nothing
 * about it. The flip side: combining too few shares, or a share from another split, or a forged
 * one, does not fail. It quietly yields some other byte string. `combineShares` therefore needs k
 * genuine shares of one split, and the caller must check what comes out: for a patient's ledger
 * key, that the recovered key's address is the patient's known ledger address.
 *
 * Shares made before 0009 (x = 1..n, by our own GF(2^8) code) are in the same field, so they
 * recombine here unchanged (test/vectors/careledger-shares-v1).
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

/** Splits `secret` into `shares` shares (distinct random x), any `threshold` of which recover it. */
export async function splitSecret(secret: Uint8Array, options: SplitSecretOptions): Promise<Share[]> {
  const { shares: n, threshold: k } = options;
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 2 || k > n || n > 255) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'need 2 ≤ threshold ≤ shares ≤ 255', {
      details: { shares: n, threshold: k },
    });
  }
  verifySecretSize(secret, 'secret');
  // The package's shares are y || x (one byte of x after the secret-length y).
  const made = await split(new Uint8Array(secret), n, k);
  return made.map((bytes) => {
    const share = { x: bytes[bytes.length - 1] as number, y: bytes.slice(0, -1) };
    bytes.fill(0);
    return share;
  });
}

export interface CombineSharesOptions {
  /** When known (e.g. from the shares' text), refuse fewer shares than this. */
  readonly threshold?: number;
}

/**
 * Lagrange interpolation at x = 0. Needs at least k shares of one split (more are fine); with
 * fewer it returns a wrong value without noticing, so check the result (see the module comment).
 */
export async function combineShares(
  shares: readonly Share[],
  options: CombineSharesOptions = {},
): Promise<Uint8Array> {
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
  const encoded = shares.map((share) => {
    const bytes = new Uint8Array(share.y.length + 1);
    bytes.set(share.y);
    bytes[share.y.length] = share.x;
    return bytes;
  });
  try {
    return await combine(encoded);
  } finally {
    for (const bytes of encoded) bytes.fill(0);
  }
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
