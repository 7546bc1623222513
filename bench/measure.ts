/** Timing helpers: fixed-duration rate loops and percentile summaries. */
import type { Figure, Ratio } from './types.js';

export interface RateResult {
  readonly ops: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/**
 * Runs `fn` repeatedly for about `durationMs` and returns its rate. The clock is read once per `stride`
 * calls so that reading it does not dominate sub-microsecond operations.
 */
export function measureRate(fn: () => void, durationMs: number, stride = 64): RateResult {
  for (let i = 0; i < Math.min(stride, 16); i++) fn(); // warm-up: JIT and lazy initialisation
  const start = performance.now();
  const end = start + durationMs;
  let ops = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < stride; i++) fn();
    ops += stride;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { ops, seconds, perSecond: ops / seconds };
}

/** Same as measureRate for an async operation, awaited one at a time. */
export async function measureRateAsync(fn: () => Promise<void>, durationMs: number): Promise<RateResult> {
  await fn();
  const start = performance.now();
  const end = start + durationMs;
  let ops = 0;
  let now = start;
  while (now < end) {
    await fn();
    ops += 1;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { ops, seconds, perSecond: ops / seconds };
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Times `fn` once per sample, in microseconds. */
export async function sampleMicros(
  count: number,
  fn: (i: number) => Promise<void> | void,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await fn(i);
    samples.push((performance.now() - start) * 1000);
  }
  return samples;
}

/** Rounds to three significant digits and groups thousands: 41234.5 → "41,200", 0.01234 → "0.0123". */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  const digits = Math.max(0, 2 - Math.floor(Math.log10(abs)));
  const rounded = Number(value.toPrecision(3));
  return rounded.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatValue(figure: Pick<Figure, 'value' | 'unit' | 'p99' | 'extra'>): string {
  const mbps = figure.extra?.MBps;
  const main = `${formatNumber(figure.value)} ${figure.unit}${typeof mbps === 'number' ? ` (${formatNumber(mbps)} MB/s)` : ''}`;
  return figure.p99 === undefined ? main : `p50 ${main}, p99 ${formatNumber(figure.p99)} ${figure.unit}`;
}

/** A rate compared with a limit rate: `0.78 × raw SQLite batched commit rate (120,000 rows/s)`. */
export function rateRatio(rate: number, limit: Figure, what: string): Ratio {
  const value = rate / limit.value;
  return {
    value,
    limitId: limit.id,
    text: `${formatNumber(value)} × ${what} (${formatNumber(limit.value)} ${limit.unit})`,
  };
}

/**
 * A duration expressed as a number of operations at a limit rate: a 25 µs proof verification at
 * 1,000,000 SHA-256/s is `25 × SHA-256(64 B) time`.
 */
export function costRatio(seconds: number, limit: Figure, what: string): Ratio {
  const value = seconds * limit.value;
  return {
    value,
    limitId: limit.id,
    text: `${formatNumber(value)} × ${what} (at ${formatNumber(limit.value)} ${limit.unit})`,
  };
}

/** A duration compared with a configured constant such as the 1 s block time. */
export function durationRatio(seconds: number, constantSeconds: number, what: string): Ratio {
  const value = seconds / constantSeconds;
  return { value, text: `${formatNumber(value)} × ${what} (${formatNumber(constantSeconds)} s)` };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
