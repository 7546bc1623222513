/**
 * The sign-in throttle over the real SQLite auth store: delays that double after the free failures
 * (RFC 4226 §7.3), a hard lock at 100 consecutive failures (NIST SP 800-63B §5.2.2) that only the
 * operator lifts, state that survives a restart, parallel guesses counted before they are checked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { openDatabase, type SqliteDatabase } from '../storage/sqlite/open-database.js';
import { authMigrations, SqliteAuthStore } from '../storage/sqlite/sqlite-auth-store.js';
import {
  delayAfter,
  SignInThrottle,
  THROTTLE_POLICIES,
  type ThrottleKey,
  type ThrottleLockout,
  throttleKeyHash,
} from './sign-in-throttle.js';

const dirs: string[] = [];
const dbs: SqliteDatabase[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function openStore(path?: string) {
  const file =
    path ??
    join(
      (() => {
        const dir = mkdtempSync(join(tmpdir(), 'careledger-throttle-'));
        dirs.push(dir);
        return dir;
      })(),
      'auth.db',
    );
  const db = openDatabase(file, authMigrations);
  dbs.push(db);
  return { file, db, store: new SqliteAuthStore(db) };
}

const account: ThrottleKey = { scope: 'account', id: 'dr.one' };

async function refusal(run: () => Promise<unknown>): Promise<CareLedgerError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof CareLedgerError) return error;
    throw error;
  }
  throw new Error('expected ERR_RATE_LIMITED');
}

describe('SignInThrottle', () => {
  it('lets five failures through, then doubles the delay after each further failure, up to 15 minutes', async () => {
    let now = 1_700_000_000_000;
    const { store } = openStore();
    const throttle = new SignInThrottle({ store, now: () => now });
    const delays: number[] = [];
    for (let failure = 1; failure <= 16; failure += 1) {
      await (await throttle.begin([account])).failed();
      const state = await store.throttleState(throttleKeyHash(account));
      delays.push((state?.lockedUntil ?? 0) - now);
      now = Math.max(now, state?.lockedUntil ?? 0);
    }
    const s = 1_000;
    expect(delays).toEqual([
      0,
      0,
      0,
      0,
      s,
      2 * s,
      4 * s,
      8 * s,
      16 * s,
      32 * s,
      64 * s,
      128 * s,
      256 * s,
      512 * s,
      900 * s,
      900 * s,
    ]);
    expect(delayAfter(THROTTLE_POLICIES.account, 100)).toBe(Number.POSITIVE_INFINITY);
  });

  it('a success clears an account; attempts refused while locked are not counted', async () => {
    let now = 1_700_000_000_000;
    const { store } = openStore();
    const throttle = new SignInThrottle({ store, now: () => now });
    for (let i = 0; i < 5; i += 1) await (await throttle.begin([account])).failed();
    for (let i = 0; i < 30; i += 1)
      expect((await refusal(() => throttle.begin([account]))).code).toBe('ERR_RATE_LIMITED');
    now += 1_000;
    await (await throttle.begin([account])).succeeded();
    for (let i = 0; i < 4; i += 1) await (await throttle.begin([account])).failed();
    await expect((await throttle.begin([account])).succeeded()).resolves.toBeUndefined();
  });

  it('survives a restart: the lock is in the database, keyed by a hash (no usernames stored)', async () => {
    const now = 1_700_000_000_000;
    const first = openStore();
    const throttle = new SignInThrottle({ store: first.store, now: () => now });
    for (let i = 0; i < 5; i += 1) await (await throttle.begin([account])).failed();
    const stored = first.db.prepare('SELECT key_hash FROM auth_throttle').all() as { key_hash: string }[];
    expect(stored.map((r) => r.key_hash).join()).not.toContain('dr.one');
    first.db.close();
    dbs.splice(dbs.indexOf(first.db), 1);
    const again = openStore(first.file);
    const restarted = new SignInThrottle({ store: again.store, now: () => now });
    expect((await refusal(() => restarted.begin([account]))).details.retryAfter).toBe(1);
  });

  it('locks for good at 100 consecutive failures until the operator unlocks (SP 800-63B §5.2.2)', async () => {
    let now = 1_700_000_000_000;
    const { store } = openStore();
    const lockouts: ThrottleLockout[] = [];
    const throttle = new SignInThrottle({ store, now: () => now, onLockout: (l) => void lockouts.push(l) });
    for (let i = 0; i < 100; i += 1) {
      await (await throttle.begin([account])).failed();
      now += 16 * 60_000;
    }
    now += 365 * 24 * 3_600_000;
    const refused = await refusal(() => throttle.begin([account]));
    expect(refused.message).toContain('operator');
    expect(refused.details.retryAfter).toBeUndefined();
    expect(lockouts.at(-1)).toMatchObject({ scope: 'account', failures: 100 });
    expect(lockouts.at(-1)?.until).toBeUndefined();
    expect(JSON.stringify(lockouts)).not.toContain('dr.one');
    await throttle.unlock(account);
    await expect((await throttle.begin([account])).succeeded()).resolves.toBeUndefined();
  });

  it('counts parallel guesses before they are checked: a burst cannot slip past the lock', async () => {
    const now = 1_700_000_000_000;
    const { store } = openStore();
    const throttle = new SignInThrottle({ store, now: () => now });
    let admitted = 0;
    let refused = 0;
    // None settled: all forty are in flight at once.
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, () => throttle.begin([account])));
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') admitted += 1;
      else refused += 1;
    }
    expect({ admitted, refused }).toEqual({ admitted: 5, refused: 35 });
  });

  it('per address: twenty free failures across usernames, a success takes back only its own attempt, forgotten after an hour', async () => {
    let now = 1_700_000_000_000;
    const { store } = openStore();
    const throttle = new SignInThrottle({ store, now: () => now });
    const client: ThrottleKey = { scope: 'client', id: '198.51.100.7' };
    for (let i = 0; i < 19; i += 1)
      await (await throttle.begin([{ scope: 'account', id: `u${i}` }, client])).failed();
    await (await throttle.begin([{ scope: 'account', id: 'real.user' }, client])).succeeded();
    await (await throttle.begin([{ scope: 'account', id: 'u19' }, client])).failed();
    expect((await refusal(() => throttle.begin([{ scope: 'account', id: 'u20' }, client]))).code).toBe(
      'ERR_RATE_LIMITED',
    );
    now += 61 * 60_000;
    await expect(
      (await throttle.begin([{ scope: 'account', id: 'u21' }, client])).succeeded(),
    ).resolves.toBeUndefined();
  });
});
