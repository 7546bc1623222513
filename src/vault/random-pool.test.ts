import { describe, expect, it } from 'vitest';
import { createRandomPool, RANDOM_POOL_SIZE } from './random-pool.js';

describe('createRandomPool', () => {
  it('hands out each byte once, as copies of their own, across refills', () => {
    const take = createRandomPool(64);
    const seen = new Set<string>();
    const handed: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const bytes = take(12);
      expect(bytes).toHaveLength(12);
      const hex = Buffer.from(bytes).toString('hex');
      // 96 random bits: a repeat would mean bytes were handed out twice.
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
      handed.push(bytes);
    }
    // Refills (64 / 12 = 5 per pool) and later takes change nothing already handed out.
    const copies = handed.map((b) => Buffer.from(b).toString('hex'));
    take(60);
    expect(handed.map((b) => Buffer.from(b).toString('hex'))).toEqual(copies);
    handed[0]?.fill(7);
    expect(Buffer.from(take(12)).toString('hex')).not.toBe('07'.repeat(12));
  });

  it('serves a request larger than the pool straight, and 0 bytes as empty', () => {
    const take = createRandomPool(16);
    const big = take(RANDOM_POOL_SIZE);
    expect(big).toHaveLength(RANDOM_POOL_SIZE);
    expect(big.some((b) => b !== 0)).toBe(true);
    expect(take(0)).toHaveLength(0);
    expect(take(16)).toHaveLength(16);
  });

  it('looks uniform: byte values over 64 KiB of output within 6 standard deviations', () => {
    const take = createRandomPool();
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 4096; i++) for (const b of take(16)) counts[b] = (counts[b] ?? 0) + 1;
    // 65,536 bytes, 256 each expected; binomial sd = sqrt(65536 / 256 * 255 / 256) ≈ 16.
    for (const n of counts) expect(Math.abs(n - 256)).toBeLessThan(6 * 16);
  });
});
