import { createHash, randomBytes } from 'node:crypto';
import type { Jwk, Scope } from '../smart/index.js';
import type { JwtVerificationCache } from '../smart/jwt-verification-cache.js';
import type { AuthStore, OAuthClient } from './auth-store.js';
import type { SignInThrottle, ThrottleLockout } from './sign-in-throttle.js';
import type { TokenEndpointLimits, TokenRequestLimit } from './token-endpoint-limits.js';

/** A validated authorization request (SMART App Launch §2.0.6 "obtain authorization code"). */
export interface AuthorizeRequest {
  readonly client: OAuthClient;
  readonly redirectUri: string;
  readonly state: string;
  readonly scope: readonly Scope[];
  readonly codeChallenge: string;
  readonly nonce?: string;
  readonly aud: string;
}

export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly patient?: string;
  readonly need_patient_banner?: boolean;
}

/** The claims of a CareLedger access token (a JWT the node signs for itself: RFC 9068 shape). */
export interface AccessClaims {
  readonly iss: string;
  readonly aud: string;
  readonly sub: string;
  readonly client_id: string;
  readonly scope: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly fhirUser?: string;
  readonly patient?: string;
  readonly roles?: readonly string[];
  readonly member?: `0x${string}`;
  /** HL7 v3 PurposeOfUse the token is limited to (a member's request on behalf of a practitioner). */
  readonly purpose?: string;
  /** RFC 8693 §4.1 actor: the practitioner a member system acts for (`Practitioner/0x…`). */
  readonly act?: { readonly sub: string };
  /** How the subject authenticated: `patient-key` for a patient's own ledger-key assertion. */
  readonly amr?: readonly string[];
  /** The grant (refresh-token family) the token was issued under: revoking the grant revokes it. */
  readonly fam?: string;
}

/** Where a sign-in or one-time code comes from, for per-client throttling. */
export interface AttemptSource {
  /** The TCP peer address (never a forwarded header, which the client chooses). */
  readonly address?: string;
}

export interface AuthorizationServerOptions {
  readonly store: AuthStore;
  /** Token requests per client_id per window (default DEFAULT_TOKEN_REQUEST_LIMIT). */
  readonly tokenRequestLimit?: TokenRequestLimit;
  /** The node's base URL, the issuer (`iss`). */
  readonly issuer: string;
  /** The FHIR base URL, the audience (`aud`) of every access token. */
  readonly fhirBaseUrl: string;
  readonly signingKey: { readonly privateJwk: Jwk; readonly publicJwk: Jwk };
  /** Opens a sealed TOTP secret (sealed under the node key by the caller). */
  readonly openSecret: (sealed: string) => Promise<string>;
  /**
   * Whether a practitioner's ledger address is attested by this member and in force (the ledger
   * index): a practitioner signs in only while their credential is attested.
   */
  readonly isPractitionerAttested?: (address: `0x${string}`) => Promise<boolean>;
  /**
   * Whether an address is an active consortium member (the ledger index). A member authenticates to
   * SMART Backend Services with an ES256K client assertion signed by its ledger key, no registration.
   */
  readonly isActiveMember?: (address: `0x${string}`) => Promise<boolean>;
  /**
   * A practitioner's attestation on the ledger (which member attests them, until when), so a member
   * may act on behalf of a practitioner only it attests.
   */
  readonly practitionerAttestation?: (
    address: `0x${string}`,
  ) => Promise<{ organization: string; revoked: boolean; expiresAt: number } | undefined>;
  /** This node's Patient with the given ledger-address identifier (RFC 7523 patient assertions). */
  readonly patientByLedgerAddress?: (address: `0x${string}`) => Promise<string | undefined>;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  readonly accessTokenSeconds?: number;
  readonly refreshTokenSeconds?: number;
  /** Told of every sign-in or one-time-code lockout, to audit it (no username, no address). */
  readonly onLockout?: (lockout: ThrottleLockout) => Promise<void> | void;
}

/**
 * What the authorization server's parts share (each takes only the fields it uses): the options as
 * given, the clock, the throttles and limits, the access-token cache and client authentication.
 */
export interface AuthServerDeps {
  readonly options: AuthorizationServerOptions;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  /** Seconds since the epoch, for JWT claims. */
  readonly seconds: () => number;
  readonly tokenEndpoint: string;
  readonly throttle: SignInThrottle;
  readonly limits: TokenEndpointLimits;
  readonly verifiedTokens: JwtVerificationCache;
  /** Client authentication (client-authentication.ts), with the per-client_id limits. */
  readonly authenticateClient: (form: URLSearchParams) => Promise<OAuthClient>;
}

/** Codes and refresh tokens are stored only as this hash. */
export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** A new opaque code or refresh token: 256 random bits. */
export const opaque = () => randomBytes(32).toString('base64url');
