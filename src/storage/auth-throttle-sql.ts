import { HARD_LOCKED, type ThrottlePolicy } from '../auth/sign-in-throttle.js';

/**
 * The sign-in throttle's counting statement, shared by the SQLite and the PostgreSQL auth stores so
 * both count alike. ONE statement decides and counts (an UPSERT whose update applies only while the
 * key is not locked, RETURNING the new state): a read-then-write would let two processes both read
 * "not locked" and both pass (decision 0015). The policy's numbers are the code's own constants,
 * written into the text (checked to be safe integers), so each policy is one prepared statement.
 */
export interface ThrottleSqlDialect {
  /** The parameter holding the key hash, and the one holding `now` (ms), typed for the dialect. */
  readonly key: string;
  readonly now: string;
  /** `min` (SQLite's scalar) or `LEAST` (PostgreSQL). */
  readonly least: 'min' | 'LEAST';
}

function integer(value: number, what: string): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`throttle policy ${what} is not an integer`);
  return String(value);
}

/** `INSERT ... ON CONFLICT DO UPDATE ... WHERE <not locked> RETURNING failures, locked_until, last_failure_at`. */
export function throttleCountSql(policy: ThrottlePolicy, d: ThrottleSqlDialect): string {
  const hard = integer(HARD_LOCKED, 'hard lock');
  const free = integer(policy.freeFailures, 'freeFailures');
  const base = integer(policy.baseDelayMs, 'baseDelayMs');
  const max = integer(policy.maxDelayMs, 'maxDelayMs');
  const t = 'auth_throttle';
  // Failures this long after the last one start the count again (never a hard lock).
  const forgotten =
    policy.forgetAfterMs === undefined
      ? '(1 = 0)'
      : `(${t}.locked_until <> ${hard} AND ${d.now} - ${t}.last_failure_at > ${integer(policy.forgetAfterMs, 'forgetAfterMs')})`;
  const failures = `(CASE WHEN ${forgotten} THEN 1 ELSE ${t}.failures + 1 END)`;
  // delayAfter (sign-in-throttle.ts): 0 below freeFailures, then base * 2^(n - free) up to max,
  // locked for good at hardLimit. CAST: base * 2^30 overflows PostgreSQL's int4.
  const lockAfter = (n: string) =>
    `(CASE ${policy.hardLimit === undefined ? '' : `WHEN ${n} >= ${integer(policy.hardLimit, 'hardLimit')} THEN ${hard} `}` +
    `WHEN ${n} < ${free} THEN ${d.now} ` +
    `ELSE ${d.now} + ${d.least}(${max}, ${base} * (CAST(1 AS BIGINT) << ${d.least}(30, ${n} - ${free}))) END)`;
  return `INSERT INTO ${t} (key_hash, failures, locked_until, last_failure_at)
    VALUES (${d.key}, 1, ${lockAfter('1')}, ${d.now})
    ON CONFLICT (key_hash) DO UPDATE SET failures = ${failures}, locked_until = ${lockAfter(failures)},
      last_failure_at = ${d.now}
    WHERE ${t}.locked_until <= ${d.now} OR ${forgotten}
    RETURNING failures, locked_until, last_failure_at`;
}

/** One attempt taken back; the lock goes only if it is still the one that attempt set. */
export function throttleTakeBackSql(d: { key: string; lockedUntil: string }): string {
  return `UPDATE auth_throttle SET failures = failures - 1,
      locked_until = CASE WHEN locked_until = ${d.lockedUntil} THEN 0 ELSE locked_until END
    WHERE key_hash = ${d.key}`;
}

/** A fixed window's count: a newer window starts again at 1 (an older one, from a slow clock, adds to the current). */
export function windowCountSql(d: {
  key: string;
  windowStart: string;
  greatest: 'max' | 'GREATEST';
}): string {
  const t = 'auth_rate_windows';
  return `INSERT INTO ${t} (key_hash, window_start, hits) VALUES (${d.key}, ${d.windowStart}, 1)
    ON CONFLICT (key_hash) DO UPDATE SET
      hits = CASE WHEN excluded.window_start > ${t}.window_start THEN 1 ELSE ${t}.hits + 1 END,
      window_start = ${d.greatest}(${t}.window_start, excluded.window_start)
    RETURNING hits`;
}
