import { scrypt } from 'node:crypto';

export interface ScryptParameters {
  /** CPU/memory cost: a power of two, at least 2. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/**
 * Ceilings for parameters read from stored strings and files, so an altered record cannot make us
 * allocate gigabytes or spin for minutes. Memory is 128·N·r bytes (RFC 7914 §2, scryptROMix's V);
 * both ceilings equal go-ethereum's StandardScryptN = 2^18 at r = 8, p = 1 (256 MiB, ~1 s).
 */
const MAX_MEMORY_BYTES = 2 ** 28;
const MAX_WORK = 2 ** 18 * 8;

export type ScryptParametersCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly parameter: keyof ScryptParameters; readonly reason: string };

/** Checks RFC 7914 §2's constraints and our resource ceilings; never throws. */
export function evaluateScryptParameters(params: ScryptParameters): ScryptParametersCheck {
  const { N, r, p } = params;
  if (!Number.isSafeInteger(N) || N < 2 || N > 2 ** 30 || (N & (N - 1)) !== 0) {
    return { ok: false, parameter: 'N', reason: 'N must be a power of two, at least 2' };
  }
  if (!Number.isSafeInteger(r) || r < 1)
    return { ok: false, parameter: 'r', reason: 'r must be a positive integer' };
  if (!Number.isSafeInteger(p) || p < 1)
    return { ok: false, parameter: 'p', reason: 'p must be a positive integer' };
  // RFC 7914 §2: "N ... must be ... less than 2^(128 * r / 8)". OpenSSL enforces it, so a
  // record that breaks it could never be opened here anyway; say so instead of failing later.
  if (r < 4 && N >= 2 ** (16 * r)) {
    return { ok: false, parameter: 'N', reason: 'N must be less than 2^(16·r) (RFC 7914 §2)' };
  }
  if (128 * N * r > MAX_MEMORY_BYTES) {
    return { ok: false, parameter: 'N', reason: 'N and r together need more than 256 MiB' };
  }
  if (N * r * p > MAX_WORK)
    return { ok: false, parameter: 'p', reason: 'N·r·p is above the work ceiling 2^21' };
  return { ok: true };
}

/** scrypt from node:crypto (RFC 7914), with maxmem sized to the parameters. */
export function deriveScryptKey(
  password: string | Uint8Array,
  salt: Uint8Array,
  params: ScryptParameters,
  keyLength: number,
): Promise<Uint8Array> {
  const { N, r, p } = params;
  // OpenSSL counts B (128·r·p bytes) plus V (128·r·(N + 2) bytes) against maxmem.
  const maxmem = 128 * r * (N + p + 2) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, { N, r, p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.byteLength));
    });
  });
}
