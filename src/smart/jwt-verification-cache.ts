/**
 * Verified JWTs remembered until they expire (issue 16 item 2): a bearer token is sent with every
 * request, and checking its ECDSA signature again each time was a seventh of a read's CPU. The cache
 * holds only what `verifyJwt` decides from the token's own bytes and the verifier's fixed options
 * (signature, algorithm, issuer, audience, required claims); time-dependent claims (exp, nbf) are
 * checked again at every use with the caller's clock, and anything that can change after issue
 * (revocation of the token, its refresh family, its client, the user) stays with the caller, checked
 * on every request: the cache cannot make a revoked token pass. docs/decisions/0017-hot-path-caches.md.
 */
import { LruCache } from '../cache/index.js';
import { CareLedgerError } from '../errors/index.js';
import { type VerifiedJwt, type VerifyJwtOptions, verifyJwt } from './jwt.js';

const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;

export interface JwtVerificationCacheOptions {
  /** Most tokens remembered (default 10,000). */
  readonly maxEntries?: number;
  /** Bound of the estimated bytes held (default 16 MiB). */
  readonly maxBytes?: number;
}

interface Verified {
  /** Which verifier options the token was verified under (keys, algorithms, iss, aud, claims). */
  readonly optionsKey: string;
  readonly result: VerifiedJwt;
}

export class JwtVerificationCache {
  private readonly cache: LruCache<Verified>;

  constructor(options: JwtVerificationCacheOptions = {}) {
    this.cache = new LruCache<Verified>({
      maxEntries: options.maxEntries ?? 10_000,
      maxBytes: options.maxBytes ?? 16 * 1024 * 1024,
      // The key (the token, UTF-16) and the decoded header and claims, about as large again.
      sizeOf: (_value, key) => key.length * 4 + 256,
    });
  }

  /** As `verifyJwt`, answering from the cache when this token was verified under the same options. */
  async verify(token: string, options: VerifyJwtOptions): Promise<VerifiedJwt> {
    const optionsKey = this.optionsKey(options);
    const hit = this.cache.get(token);
    if (hit !== undefined && hit.optionsKey === optionsKey) {
      checkTimeClaims(hit.result, options);
      return hit.result;
    }
    const result = await verifyJwt(token, options);
    // Only tokens that expire are kept: nothing stays valid here forever. Frozen, since every later
    // request with this token receives the same object.
    if (typeof result.payload.exp === 'number')
      this.cache.set(token, { optionsKey, result: deepFreeze(result) });
    return result;
  }

  /** Forgets every verified token (e.g. after the signing keys changed). */
  clear(): void {
    this.cache.clear();
  }

  private optionsKey(options: VerifyJwtOptions): string {
    return JSON.stringify([
      options.keys,
      options.algorithms,
      options.issuer ?? null,
      options.audience ?? null,
      options.clockToleranceSeconds ?? null,
      options.requireClaims ?? [],
    ]);
  }
}

/** RFC 7519 §4.1.4, §4.1.5 at `options.now`, with jose's comparisons (exp <= now - tolerance is expired). */
function checkTimeClaims(result: VerifiedJwt, options: VerifyJwtOptions): void {
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isFinite(options.now) || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'verifyJwt needs a finite clock and tolerance', {
      details: { reason: 'invalid-options' },
    });
  }
  // jose compares whole seconds (its `epoch` floors the clock).
  const now = Math.floor(options.now);
  const { exp, nbf } = result.payload;
  if (typeof exp === 'number' && exp <= now - tolerance) {
    throw new CareLedgerError('ERR_UNAUTHENTICATED', 'the JWT has expired', {
      details: { reason: 'expired' },
    });
  }
  if (typeof nbf === 'number' && nbf > now + tolerance) {
    throw new CareLedgerError('ERR_UNAUTHENTICATED', 'the JWT is not yet valid', {
      details: { reason: 'not-yet-valid' },
    });
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
