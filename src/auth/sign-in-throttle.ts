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

export type ThrottleScope = 'account' | 'client' | 'second-factor';

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

export interface ThrottleStore {
  throttleState(keyHash: string): ThrottleState | undefined;
  saveThrottleState(keyHash: string, state: ThrottleState): void;
  clearThrottleState(keyHash: string): void;
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
};

const HARD_LOCKED = Number.MAX_SAFE_INTEGER;

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
  succeeded(): void;
  /** The attempt failed: resolves once any lockout it caused is reported. */
  failed(): Promise<void>;
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

  private current(keyHash: string, policy: ThrottlePolicy, now: number): ThrottleState | undefined {
    const state = this.options.store.throttleState(keyHash);
    if (state === undefined) return undefined;
    const forgotten =
      policy.forgetAfterMs !== undefined &&
      state.lockedUntil !== HARD_LOCKED &&
      now - state.lastFailureAt > policy.forgetAfterMs;
    return forgotten ? undefined : state;
  }

  /**
   * Counts an attempt against every key, or throws ERR_RATE_LIMITED (429, `retryAfter` seconds in
   * the details) while any of them is locked. The message is the same for every key and for
   * usernames that do not exist.
   */
  begin(keys: readonly ThrottleKey[], fhirUser?: string): ThrottleAttempt {
    const now = this.options.now();
    const entries = keys.map((key) => {
      const policy = this.policies[key.scope];
      const keyHash = throttleKeyHash(key);
      return { key, policy, keyHash, before: this.current(keyHash, policy, now) };
    });
    const lockedUntil = Math.max(0, ...entries.map((e) => e.before?.lockedUntil ?? 0));
    if (lockedUntil > now) {
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
    const after = entries.map((e) => {
      const failures = (e.before?.failures ?? 0) + 1;
      const delay = delayAfter(e.policy, failures);
      const state: ThrottleState = {
        failures,
        lockedUntil: delay === Number.POSITIVE_INFINITY ? HARD_LOCKED : now + delay,
        lastFailureAt: now,
      };
      this.options.store.saveThrottleState(e.keyHash, state);
      return { ...e, state, delay };
    });
    let settled = false;
    return {
      succeeded: () => {
        if (settled) return;
        settled = true;
        for (const e of after) {
          if (e.policy.resetOnSuccess) {
            this.options.store.clearThrottleState(e.keyHash);
            continue;
          }
          // Take back this attempt only: others' failures from the same address still count.
          const latest = this.options.store.throttleState(e.keyHash) ?? e.state;
          const failures = Math.max(0, latest.failures - 1);
          if (failures === 0) this.options.store.clearThrottleState(e.keyHash);
          else
            this.options.store.saveThrottleState(e.keyHash, {
              ...latest,
              failures,
              lockedUntil: e.before?.lockedUntil ?? 0,
            });
        }
      },
      failed: async () => {
        if (settled) return;
        settled = true;
        for (const e of after) {
          if (e.delay === 0) continue;
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
  unlock(key: ThrottleKey): void {
    this.options.store.clearThrottleState(throttleKeyHash(key));
  }
}
