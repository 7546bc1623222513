import { randomFillSync } from 'node:crypto';

/** Bytes fetched from the CSPRNG at a time. */
export const RANDOM_POOL_SIZE = 4096;

/**
 * Random bytes from node:crypto's CSPRNG (OpenSSL's DRBG), fetched RANDOM_POOL_SIZE at a time and
 * handed out once each, as Node's own `randomUUID` buffers its entropy: a call per 12-byte GCM nonce
 * or 16-byte salt cost a trip into OpenSSL each, about 1.5% of a read's CPU (issue 16). Every byte is
 * handed out at most once and zeroed in the pool when it is; callers get a copy of their own. A
 * request larger than the pool is served straight from the CSPRNG.
 */
export function createRandomPool(size = RANDOM_POOL_SIZE): (length: number) => Uint8Array {
  const pool = new Uint8Array(size);
  let offset = size;
  return (length) => {
    if (length > size) return randomFillSync(new Uint8Array(length));
    if (offset + length > size) {
      randomFillSync(pool);
      offset = 0;
    }
    const bytes = pool.slice(offset, offset + length);
    pool.fill(0, offset, offset + length);
    offset += length;
    return bytes;
  };
}

/** The process's pool, for nonces and salts. */
export const pooledRandomBytes: (length: number) => Uint8Array = createRandomPool();
