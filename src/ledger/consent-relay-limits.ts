import { createHash } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';

/** At most `requests` relays per fixed window of `windowSeconds`. */
export interface RelayLimit {
  readonly requests: number;
  readonly windowSeconds: number;
}

/** Where the windows are counted: the auth store's `countInWindow` (one atomic statement, shared by a member's processes). */
export interface RelayWindowCounter {
  countInWindow(keyHash: string, windowStart: number): Promise<number>;
}

/**
 * What an anonymous relay may cost the node. `chain`: grants and revocations (each a transaction from
 * the member's account, a permanent log entry and deliveries to other members); `opening`: openings
 * received (each stored). Per source address and for the whole node. A patient signs a handful in a
 * session; another member forwards one opening per grant relayed there, so openings get more room.
 */
export interface ConsentRelayLimitPolicy {
  readonly chain: { readonly perSource: RelayLimit; readonly global: RelayLimit };
  readonly opening: { readonly perSource: RelayLimit; readonly global: RelayLimit };
}

export const DEFAULT_CONSENT_RELAY_LIMITS: ConsentRelayLimitPolicy = {
  chain: { perSource: { requests: 30, windowSeconds: 60 }, global: { requests: 300, windowSeconds: 60 } },
  opening: { perSource: { requests: 120, windowSeconds: 60 }, global: { requests: 600, windowSeconds: 60 } },
};

/**
 * node.json's `consentRelayLimits`: relays a minute, each field in place of its default. An operator
 * whose patients reach the node through one address (a portal's proxy, a desk) raises the per-source
 * figure; a test that plays many patients from one client raises both.
 */
export interface ConsentRelayLimitsConfig {
  /** Grants, revocations and delegations from one source address a minute (default 30). */
  readonly grantsPerSource?: number;
  /** ... at the whole node a minute (default 300). */
  readonly grantsPerNode?: number;
  /** Openings from one source address a minute (default 120). */
  readonly openingsPerSource?: number;
  /** ... at the whole node a minute (default 600). */
  readonly openingsPerNode?: number;
}

/** The policy node.json asks for: its figures a minute, the defaults for the rest. */
export function consentRelayLimitPolicy(config: ConsentRelayLimitsConfig = {}): ConsentRelayLimitPolicy {
  const d = DEFAULT_CONSENT_RELAY_LIMITS;
  const perMinute = (requests: number | undefined, fallback: RelayLimit): RelayLimit =>
    requests === undefined ? fallback : { requests, windowSeconds: 60 };
  return {
    chain: {
      perSource: perMinute(config.grantsPerSource, d.chain.perSource),
      global: perMinute(config.grantsPerNode, d.chain.global),
    },
    opening: {
      perSource: perMinute(config.openingsPerSource, d.opening.perSource),
      global: perMinute(config.openingsPerNode, d.opening.global),
    },
  };
}

export type RelayKind = keyof ConsentRelayLimitPolicy;

function checkLimit(limit: RelayLimit): void {
  if (
    !(
      Number.isSafeInteger(limit.requests) &&
      limit.requests > 0 &&
      Number.isSafeInteger(limit.windowSeconds) &&
      limit.windowSeconds > 0
    )
  )
    throw new CareLedgerError(
      'ERR_CONFIG',
      'a consent relay limit needs positive integer requests and windowSeconds',
    );
}

/**
 * Security review F9: `/ledger/consent/*` relays need no token (the patient's signature is the proof),
 * so anyone could make the node spend gas, grow its log and post to other members as fast as they can
 * sign with fresh keys. Each relay is counted before any of that, per source address (the TCP peer,
 * never a forwarded header) and node-wide; past either, ERR_RATE_LIMITED: 429 with Retry-After, and
 * nothing is stored, sent or logged for it.
 */
export class ConsentRelayLimits {
  private readonly policy: ConsentRelayLimitPolicy;

  constructor(
    private readonly options: {
      readonly store: RelayWindowCounter;
      /** Milliseconds since the epoch. */
      readonly now: () => number;
      readonly policy?: ConsentRelayLimitPolicy;
    },
  ) {
    this.policy = options.policy ?? DEFAULT_CONSENT_RELAY_LIMITS;
    for (const kind of ['chain', 'opening'] as const) {
      checkLimit(this.policy[kind].perSource);
      checkLimit(this.policy[kind].global);
    }
  }

  /** Counts one relay of this kind from this source (undefined: in-process, node-wide only); throws past a limit. */
  async count(kind: RelayKind, source: string | undefined): Promise<void> {
    const limits = this.policy[kind];
    if (source !== undefined)
      await this.countWindow(`${kind}\0source\0${source}`, limits.perSource, 'from this address');
    await this.countWindow(`${kind}\0node`, limits.global, 'at this node');
  }

  private async countWindow(id: string, limit: RelayLimit, where: string): Promise<void> {
    const now = this.options.now();
    const windowMs = limit.windowSeconds * 1000;
    const windowStart = now - (now % windowMs);
    const keyHash = createHash('sha256').update(`consent-relay\0${id}`).digest('hex');
    const hits = await this.options.store.countInWindow(keyHash, windowStart);
    if (hits <= limit.requests) return;
    const retryAfter = Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
    throw new CareLedgerError(
      'ERR_RATE_LIMITED',
      `too many consent relays ${where}: try again in ${retryAfter} s`,
      { details: { retryAfter } },
    );
  }
}
