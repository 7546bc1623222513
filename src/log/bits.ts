/**
 * Bit arithmetic on tree sizes and indices. JavaScript bitwise operators work on 32 bits, but a log may
 * exceed 2^32 entries, so these helpers split a safe integer (< 2^53) into two 32-bit halves.
 */
const TWO_32 = 2 ** 32;

function split(n: number): [hi: number, lo: number] {
  return [Math.floor(n / TWO_32), n >>> 0];
}

function popcount32(x: number): number {
  let v = x >>> 0;
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Number of bits needed to represent n (Go's bits.Len64). */
export function bitLength(n: number): number {
  const [hi, lo] = split(n);
  return hi > 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(lo);
}

export function xor(a: number, b: number): number {
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  return (ah ^ bh) * TWO_32 + ((al ^ bl) >>> 0);
}

export function onesCount(n: number): number {
  const [hi, lo] = split(n);
  return popcount32(hi) + popcount32(lo);
}

/** Trailing zero bits of n; n must be positive. */
export function trailingZeros(n: number): number {
  const [hi, lo] = split(n);
  if (lo !== 0) return 31 - Math.clz32(lo & -lo);
  return 32 + (31 - Math.clz32(hi & -hi));
}

export function shiftRight(n: number, k: number): number {
  return Math.floor(n / 2 ** k);
}

export function bitAt(n: number, i: number): number {
  return shiftRight(n, i) % 2;
}

export function isPowerOfTwo(n: number): boolean {
  return n > 0 && onesCount(n) === 1;
}

/** Largest power of two strictly less than n, for n > 1 (RFC 9162 §2.1.1: "k < n <= 2k"). */
export function largestPowerOfTwoBelow(n: number): number {
  return 2 ** (bitLength(n - 1) - 1);
}

/** Smallest power of two greater than or equal to n. */
export function bitCeil(n: number): number {
  return n <= 1 ? 1 : 2 ** bitLength(n - 1);
}
