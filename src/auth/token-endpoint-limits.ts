import { CareLedgerError } from '../errors/index.js';
import {
  type SignInThrottle,
  type ThrottleAttempt,
  type ThrottleStore,
  throttleKeyHash,
} from './sign-in-throttle.js';

/** Token requests one client_id may make per fixed window, at the token endpoint. */
export interface TokenRequestLimit {
  readonly requests: number;
  readonly windowSeconds: number;
}

/**
 * Generous for a backend service (one client_credentials token per 5 minutes is the SMART norm) and
 * for a portal of many users behind one public client_id; it stops a runaway or hostile client from
 * making the node sign tokens (and scan its stores) as fast as it can send.
 */
export const DEFAULT_TOKEN_REQUEST_LIMIT: TokenRequestLimit = { requests: 1_200, windowSeconds: 60 };

/**
 * Per-client_id limits at the token endpoint (OAuth 2.0 Security BCP §4.17 leaves the means to the
 * server): failed client authentications per client_id (the sign-in throttle's growing delays,
 * scope `oauth-client`), and token requests per client_id per window. Both are counted in the auth
 * store with one atomic statement each, so every node process of a member shares the counts. Past
 * either, ERR_RATE_LIMITED: 429 with Retry-After and an OAuth error body.
 */
export class TokenEndpointLimits {
  private readonly limit: TokenRequestLimit;

  constructor(
    private readonly options: {
      readonly store: Pick<ThrottleStore, 'countInWindow'>;
      readonly throttle: SignInThrottle;
      /** Milliseconds since the epoch. */
      readonly now: () => number;
      readonly limit?: TokenRequestLimit;
    },
  ) {
    this.limit = options.limit ?? DEFAULT_TOKEN_REQUEST_LIMIT;
    if (!(Number.isSafeInteger(this.limit.requests) && this.limit.requests > 0))
      throw new CareLedgerError('ERR_CONFIG', 'the token request limit must be a positive integer');
    if (!(Number.isSafeInteger(this.limit.windowSeconds) && this.limit.windowSeconds > 0))
      throw new CareLedgerError(
        'ERR_CONFIG',
        'the token request window must be a positive number of seconds',
      );
  }

  /** Counts one token request of a known client; throws past the window's limit. */
  async countRequest(clientId: string): Promise<void> {
    const now = this.options.now();
    const windowMs = this.limit.windowSeconds * 1000;
    const windowStart = now - (now % windowMs);
    const keyHash = throttleKeyHash({ scope: 'oauth-client', id: `requests\0${clientId}` });
    const hits = await this.options.store.countInWindow(keyHash, windowStart);
    if (hits <= this.limit.requests) return;
    const retryAfter = Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
    throw new CareLedgerError(
      'ERR_RATE_LIMITED',
      `too many token requests for this client: try again in ${retryAfter} s`,
      { details: { oauth: 'temporarily_unavailable', retryAfter } },
    );
  }

  /**
   * Counts a client authentication before it is checked (as a failure, taken back on success), or
   * throws while the client_id is locked by earlier failures.
   */
  async beginAuthentication(clientId: string): Promise<ThrottleAttempt> {
    return this.options.throttle.begin([{ scope: 'oauth-client', id: clientId }]);
  }
}
