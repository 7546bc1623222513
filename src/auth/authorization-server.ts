import type { AccessContext } from '../audit/create-audit-event.js';
import type { Jwk } from '../smart/index.js';
import { JwtVerificationCache } from '../smart/jwt-verification-cache.js';
import { accessContext, revoke, verifyAccessToken } from './access-tokens.js';
import type { UserAccount } from './auth-store.js';
import { issueCode, parseAuthorizeRequest } from './authorization-endpoint.js';
import type {
  AccessClaims,
  AttemptSource,
  AuthorizationServerOptions,
  AuthorizeRequest,
  AuthServerDeps,
  TokenResponse,
} from './authorization-server-options.js';
import { authenticateClient } from './client-authentication.js';
import { clientCredentials } from './member-token-grant.js';
import { oauthError } from './oauth-error.js';
import { patientAssertion } from './patient-assertion-grant.js';
import { openIdConfiguration, smartConfiguration } from './server-metadata.js';
import { SignInThrottle } from './sign-in-throttle.js';
import { TokenEndpointLimits } from './token-endpoint-limits.js';
import { authenticateUser, checkSecondFactor } from './user-sign-in.js';
import { redeemCode, refresh } from './user-token-grants.js';

export type {
  AccessClaims,
  AttemptSource,
  AuthorizationServerOptions,
  AuthorizeRequest,
  TokenResponse,
} from './authorization-server-options.js';
export { type OAuthErrorCode, oauthError } from './oauth-error.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * The node as an OAuth 2.0 / OpenID Connect authorization server for its own users and for the other
 * members' systems: SMART App Launch v2 (authorization code with PKCE S256, v2 scopes, refresh tokens
 * rotated on every use and revocable) and SMART Backend Services (client credentials with
 * private_key_jwt). Access tokens are ES256 JWTs the node verifies itself; revocation is checked on
 * every request.
 * Each duty is its own module (decision 0044): server-metadata, authorization-endpoint, user-sign-in,
 * user-token-grants, patient-assertion-grant, member-token-grant and access-tokens.
 */
export class AuthorizationServer {
  private readonly now: () => number;
  readonly tokenEndpoint: string;
  /** Failed passwords and one-time codes: growing delays, then lockout (RFC 4226 §7.3). */
  readonly throttle: SignInThrottle;
  /** Per-client_id limits at the token endpoint. */
  private readonly limits: TokenEndpointLimits;
  /** What the duty modules share. */
  private readonly deps: AuthServerDeps;

  constructor(private readonly options: AuthorizationServerOptions) {
    this.now = options.now ?? Date.now;
    this.tokenEndpoint = `${options.issuer}/oauth/token`;
    this.throttle = new SignInThrottle({
      store: options.store,
      now: () => this.now(),
      onLockout: (lockout) => options.onLockout?.(lockout),
    });
    this.limits = new TokenEndpointLimits({
      store: options.store,
      throttle: this.throttle,
      now: () => this.now(),
      ...(options.tokenRequestLimit === undefined ? {} : { limit: options.tokenRequestLimit }),
    });
    this.deps = {
      options,
      now: () => this.now(),
      seconds: () => this.seconds(),
      tokenEndpoint: this.tokenEndpoint,
      throttle: this.throttle,
      limits: this.limits,
      // Access tokens' signatures and claims, verified once (revocation is still checked each time).
      verifiedTokens: new JwtVerificationCache(),
      authenticateClient: (form) =>
        authenticateClient(form, {
          store: options.store,
          limits: this.limits,
          tokenEndpoint: this.tokenEndpoint,
          seconds: () => this.seconds(),
        }),
    };
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** `/.well-known/smart-configuration` (SMART App Launch §2.0.4). */
  smartConfiguration(): Record<string, unknown> {
    return smartConfiguration(this.options.issuer, this.tokenEndpoint);
  }

  openIdConfiguration(): Record<string, unknown> {
    return openIdConfiguration(this.smartConfiguration());
  }

  jwks(): { keys: Jwk[] } {
    return { keys: [this.options.signingKey.publicJwk] };
  }

  /**
   * Validates an authorization request. Errors about the client or redirect URI are shown to the user
   * (never redirected to an unverified URI, RFC 6749 §4.1.2.1); the rest go back to the client.
   */
  parseAuthorizeRequest(params: URLSearchParams): Promise<AuthorizeRequest> {
    return parseAuthorizeRequest(this.deps, params);
  }

  /**
   * Password, then TOTP (RFC 6238, a code never accepted twice), then for a practitioner the ledger
   * attestation of their credential. One vague message for a wrong username or password. Throttled
   * per username typed (existing or not) and per source address, before the password is checked.
   */
  authenticateUser(
    username: string,
    password: string,
    totp: string,
    source: AttemptSource = {},
  ): Promise<UserAccount> {
    return authenticateUser(this.deps, username, password, totp, source);
  }

  /**
   * Checks a TOTP code for the user and consumes its time step (a replayed code fails). Throttled per
   * user wherever the code is checked (sign-in, break-glass) and, given a source, per address: a
   * 6-digit code falls to a million guesses otherwise (RFC 4226 §7.3, RFC 6238 §5.2).
   */
  checkSecondFactor(user: UserAccount, code: string, source?: AttemptSource): Promise<void> {
    return checkSecondFactor(this.deps, user, code, source);
  }

  /** Issues an authorization code for a signed-in user; returns the redirect URL (RFC 6749 §4.1.2). */
  issueCode(request: AuthorizeRequest, user: UserAccount, launchPatient?: string): Promise<string> {
    return issueCode(this.deps, request, user, launchPatient);
  }

  /** The token endpoint (RFC 6749 §3.2): authorization_code, refresh_token, client_credentials. */
  async token(form: URLSearchParams): Promise<TokenResponse> {
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code') return redeemCode(this.deps, form);
    if (grantType === 'refresh_token') return refresh(this.deps, form);
    if (grantType === 'client_credentials') return clientCredentials(this.deps, form);
    if (grantType === JWT_BEARER) return patientAssertion(this.deps, form);
    throw oauthError(
      'unsupported_grant_type',
      'grant_type must be authorization_code, refresh_token, client_credentials or jwt-bearer',
    );
  }

  /** Verifies an access token: signature, issuer, audience, expiry, not revoked, user still active. */
  verifyAccessToken(token: string): Promise<AccessClaims> {
    return verifyAccessToken(this.deps, token);
  }

  /** The AccessContext of a verified token: who, their roles, the token's scopes and patient context. */
  accessContext(claims: AccessClaims, purpose: string | undefined, organization: string): AccessContext {
    return accessContext(claims, purpose, organization);
  }

  /** RFC 7009: revokes a refresh token (and its grant) or an access token; unknown tokens are fine. */
  revoke(form: URLSearchParams): Promise<void> {
    return revoke(this.deps, form);
  }

  /** RFC 7662 token introspection. */
  async introspect(token: string): Promise<Record<string, unknown>> {
    try {
      const claims = await this.verifyAccessToken(token);
      return { active: true, ...claims };
    } catch {
      return { active: false };
    }
  }
}
