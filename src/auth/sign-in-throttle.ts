import { createHash } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';

/**
 * Throttling of guessable secrets (passwords, TOTP codes): RFC 4226 §7.3 ("throttling schemes":
 * delays that grow with each failure, then lockout) and NIST SP 800-63B §5.2.2 (no more than 100
 * consecutive failed attempts on one account, rate limiting by source).
 *
 * Every attempt is counted as a failure BEFORE the secret is checked, and taken back on success: a
 * burst of parallel guesses cannot all pass the "locked?" check before the first failure is written.
 * Attempts refused while locked are not counted (they were never checked, so they guess nothing).
 */

export type ThrottleScope = 'account' | 'client' | 'second-factor' | 'oauth-client';

export interface ThrottlePolicy {
  /** Consecutive failures that cost nothing: the first delay follows this many. */
  readonly freeFailures: number;
  /** The first delay; each further failure doubles it (RFC 4226 §7.3). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** At this many consecutive failures the key stays locked until an operator unlocks it (SP 800-63B §5.2.2). */
  readonly hardLimit?: number;
  /** Failures this long after the last one start the count again (per-client keys, shared NAT addresses). */
  readonly forgetAfterMs?: number;
  /** A success clears the count (one account); otherwise it only takes back its own attempt (one address). */
  readonly resetOnSuccess: boolean;
}

/** What the store keeps per key (the key itself is stored only as a SHA-256 hash). */
export interface ThrottleState {
  readonly failures: number;
  /** Milliseconds since the epoch; `Number.MAX_SAFE_INTEGER` once hard-locked. */
  readonly lockedUntil: number;
  readonly lastFailureAt: number;
}

/** What counting one attempt found: counted (with the key's new state), or refused because locked. */
export type ThrottleCount =
  | { readonly counted: true; readonly state: ThrottleState }
  | { readonly counted: false; readonly lockedUntil: number };

/**
 * Where the counts are kept (AuthStore). Counting is ONE atomic statement (an UPSERT ... RETURNING
 * whose update applies only while the key is not locked), never a read and then a write: two node
 * processes sharing the store cannot both pass the "locked?" check on the same count.
 */
export interface ThrottleStore {
  throttleState(keyHash: string): Promise<ThrottleState | undefined>;
  /**
   * Unless the key is locked at `now` (and not forgotten under `policy.forgetAfterMs`), counts one
   * failure and stores the lock the new count earns (`delayAfter`); otherwise changes nothing.
   */
  countThrottleAttempt(keyHash: string, policy: ThrottlePolicy, now: number): Promise<ThrottleCount>;
  /**
   * Takes back one counted attempt; a lock is lifted only if it is still the one that attempt set
   * (`lockedUntil`), not a later attempt's.
   */
  takeBackThrottleAttempt(keyHash: string, lockedUntil: number): Promise<void>;
  clearThrottleState(keyHash: string): Promise<void>;
  /**
   * Counts one event in the fixed window that starts at `windowStart` (ms) and returns the window's
   * count so far, in one atomic statement; an older window's count starts again at 1.
   */
  countInWindow(keyHash: string, windowStart: number): Promise<number>;
}

export const THROTTLE_POLICIES: Readonly<Record<ThrottleScope, ThrottlePolicy>> = {
  // One account (by the username typed, existing or not: the answer must not tell which exist).
  account: {
    freeFailures: 5,
    baseDelayMs: 1_000,
    maxDelayMs: 15 * 60_000,
    hardLimit: 100,
    resetOnSuccess: true,
  },
  // One user's TOTP verifier, wherever it is checked (sign-in, break-glass).
  'second-factor': {
    freeFailures: 5,
    baseDelayMs: 1_000,
    maxDelayMs: 15 * 60_000,
    hardLimit: 100,
    resetOnSuccess: true,
  },
  // One source address: password spraying across many usernames.
  client: {
    freeFailures: 20,
    baseDelayMs: 1_000,
    maxDelayMs: 15 * 60_000,
    forgetAfterMs: 60 * 60_000,
    resetOnSuccess: false,
  },
  // One OAuth client_id at the token endpoint: failed client authentications (private_key_jwt).
  // No hard limit (anyone may send a bad assertion for a public client_id), and short delays.
  'oauth-client': {
    freeFailures: 10,
    baseDelayMs: 1_000,
    maxDelayMs: 5 * 60_000,
    forgetAfterMs: 60 * 60_000,
    resetOnSuccess: true,
  },
};

/** `lockedUntil` of a key only an operator can unlock. */
export const HARD_LOCKED = Number.MAX_SAFE_INTEGER;

export interface ThrottleKey {
  readonly scope: ThrottleScope;
  /** The username typed, the user id, or the source address. Never stored in clear. */
  readonly id: string;
}

/** A lockout, for the audit trail: the scope and the stored hash, never the username or address. */
export interface ThrottleLockout {
  readonly scope: ThrottleScope;
  readonly keyHash: string;
  readonly failures: number;
  /** ISO time the key unlocks, or undefined when only an operator can unlock it. */
  readonly until?: string;
  /** The account's `Practitioner/…` or `Patient/…`, when the username exists (for the sealed audit only). */
  readonly fhirUser?: string;
}

/** The stored form of a key: a hash, so the table holds no usernames or addresses. */
export function throttleKeyHash(key: ThrottleKey): string {
  return createHash('sha256').update(`${key.scope}\0${key.id}`).digest('hex');
}

export function delayAfter(policy: ThrottlePolicy, failures: number): number {
  if (policy.hardLimit !== undefined && failures >= policy.hardLimit) return Number.POSITIVE_INFINITY;
  if (failures < policy.freeFailures) return 0;
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(30, failures - policy.freeFailures));
}

/** One counted attempt: settle it once the secret has been checked. */
export interface ThrottleAttempt {
  succeeded(): Promise<void>;
  /** The attempt failed: resolves once any lockout it caused is reported. */
  failed(): Promise<void>;
}

interface CountedKey {
  readonly key: ThrottleKey;
  readonly policy: ThrottlePolicy;
  readonly keyHash: string;
  readonly state: ThrottleState;
}

export class SignInThrottle {
  private readonly policies: Readonly<Record<ThrottleScope, ThrottlePolicy>>;

  constructor(
    private readonly options: {
      readonly store: ThrottleStore;
      /** Milliseconds since the epoch. */
      readonly now: () => number;
      readonly policies?: Partial<Record<ThrottleScope, ThrottlePolicy>>;
      /** Told of every lockout (a key that must now wait), to audit it. */
      readonly onLockout?: (lockout: ThrottleLockout) => Promise<void> | void;
    },
  ) {
    this.policies = { ...THROTTLE_POLICIES, ...options.policies };
  }

  /**
   * Counts an attempt against every key, or throws ERR_RATE_LIMITED (429, `retryAfter` seconds in
   * the details) while any of them is locked. The message is the same for every key and for
   * usernames that do not exist.
   */
  async begin(keys: readonly ThrottleKey[], fhirUser?: string): Promise<ThrottleAttempt> {
    const { store } = this.options;
    const now = this.options.now();
    const counted: CountedKey[] = [];
    let lockedUntil = 0;
    for (const key of keys) {
      const policy = this.policies[key.scope];
      const keyHash = throttleKeyHash(key);
      let result = await store.countThrottleAttempt(keyHash, policy, now);
      // Locked when counted, cleared (an operator's unlock) before its lock could be read: count again.
      if (!result.counted && result.lockedUntil <= now)
        result = await store.countThrottleAttempt(keyHash, policy, now);
      if (result.counted) counted.push({ key, policy, keyHash, state: result.state });
      else lockedUntil = Math.max(lockedUntil, result.lockedUntil);
    }
    if (lockedUntil > now) {
      // Attempts refused while locked are not counted (they were never checked, so they guess nothing).
      for (const e of counted) await store.takeBackThrottleAttempt(e.keyHash, e.state.lockedUntil);
      const hard = lockedUntil === HARD_LOCKED;
      const retryAfter = hard ? undefined : Math.ceil((lockedUntil - now) / 1000);
      throw new CareLedgerError(
        'ERR_RATE_LIMITED',
        hard
          ? 'too many failed attempts: sign-in is locked until the node operator unlocks it'
          : `too many failed attempts: try again in ${retryAfter} s`,
        { details: { oauth: 'access_denied', ...(hard ? {} : { retryAfter }) } },
      );
    }
    let settled = false;
    return {
      succeeded: async () => {
        if (settled) return;
        settled = true;
        for (const e of counted) {
          if (e.policy.resetOnSuccess) await store.clearThrottleState(e.keyHash);
          // Take back this attempt only: others' failures from the same address still count.
          else await store.takeBackThrottleAttempt(e.keyHash, e.state.lockedUntil);
        }
      },
      failed: async () => {
        if (settled) return;
        settled = true;
        for (const e of counted) {
          if (e.state.lockedUntil <= now) continue;
          await this.options.onLockout?.({
            scope: e.key.scope,
            keyHash: e.keyHash,
            failures: e.state.failures,
            ...(fhirUser === undefined ? {} : { fhirUser }),
            ...(e.state.lockedUntil === HARD_LOCKED
              ? {}
              : { until: new Date(e.state.lockedUntil).toISOString() }),
          });
        }
      },
    };
  }

  /** The operator's unlock (after a hard lock, or to let a user in sooner). */
  async unlock(key: ThrottleKey): Promise<void> {
    await this.options.store.clearThrottleState(throttleKeyHash(key));
  }
}
