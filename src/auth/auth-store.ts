import type { Address } from 'viem';
import type { Jwk } from '../smart/index.js';
import type { ThrottleStore } from './sign-in-throttle.js';

/** A person who signs in at this node: one of its staff, or one of its patients. */
export interface UserAccount {
  readonly id: string;
  readonly username: string;
  /** scrypt PHC string (src/identity/password-hash). */
  readonly passwordHash: string;
  /** The base32 TOTP secret, sealed under the node key (src/vault); undefined until enrolled. */
  readonly totpSealed?: string;
  /** The last TOTP time step accepted, so a code is never accepted twice (RFC 6238 §5.2). */
  readonly totpLastStep?: number;
  /** `Practitioner/<id>` or `Patient/<id>` (SMART fhirUser). */
  readonly fhirUser: string;
  /** Staff roles (clinician, registrar, privacy-officer); none for a patient. */
  readonly roles: readonly string[];
  /** The ledger key: a practitioner's attested address, a patient's consent-signing address. */
  readonly ledgerAddress?: Address;
  /** A patient's encrypted keystore (Web3 Secret Storage JSON): kept here, opened only by the patient. */
  readonly keystore?: string;
  readonly createdAt: string;
  readonly disabled: boolean;
}

/** An OAuth client: a SMART app (public, PKCE) or a backend service (private_key_jwt). */
export interface OAuthClient {
  readonly clientId: string;
  readonly name: string;
  readonly redirectUris: readonly string[];
  /** For private_key_jwt (SMART Backend Services): the client's public keys. */
  readonly jwks?: readonly Jwk[];
  /** For a backend service of another member: its ledger address, the grantee of patient consent. */
  readonly memberAddress?: Address;
  /** The most a client may be granted (space-separated SMART scopes). */
  readonly allowedScopes: string;
  readonly createdAt: string;
  /**
   * A self-registered app (RFC 7591) waits for the operator's approval before anyone can sign in to
   * it; undefined means approved (clients the operator registered, and those from before approval).
   */
  readonly status?: 'pending' | 'approved';
  /** How it was registered: by the operator, by the app itself, or with a signed software statement. */
  readonly registeredVia?: 'operator' | 'self' | 'software-statement';
  /** RFC 7591 §2 software_id, from a verified software statement. */
  readonly softwareId?: string;
}

export interface AuthorizationCode {
  /** SHA-256 of the code (hex): the code itself is never stored. */
  readonly codeHash: string;
  readonly clientId: string;
  readonly userId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly scope: string;
  readonly patient?: string;
  readonly nonce?: string;
  readonly expiresAt: number;
  /** Set when redeemed; a second redemption revokes what the first issued (RFC 6749 §4.1.2). */
  readonly usedAt?: number;
  /** The refresh-token family issued from this code, if any. */
  readonly family?: string;
}

export interface RefreshToken {
  readonly tokenHash: string;
  /** All rotations of one grant share a family; reuse of a rotated token revokes the family. */
  readonly family: string;
  readonly clientId: string;
  readonly userId: string;
  readonly scope: string;
  readonly patient?: string;
  readonly expiresAt: number;
  readonly rotatedAt?: number;
  readonly revokedAt?: number;
}

export interface Notification {
  readonly id: string;
  /** `Patient/<id>` or a role name such as `role:privacy-officer`. */
  readonly recipient: string;
  readonly kind: 'break-glass' | 'break-glass-review' | 'access-request' | 'integrity-alert';
  /** Non-PHI summary: ids and times only. */
  readonly message: string;
  readonly subject: string;
  readonly createdAt: string;
  readonly readAt?: string;
}

/**
 * What the authorization server keeps. Synchronous like the other SQLite adapters' hot paths: every
 * call is one indexed statement.
 */
export interface AuthStore extends ThrottleStore {
  insertUser(user: UserAccount): void;
  userById(id: string): UserAccount | undefined;
  userByUsername(username: string): UserAccount | undefined;
  userByFhirUser(fhirUser: string): UserAccount | undefined;
  updateUser(
    id: string,
    changes: Partial<
      Pick<UserAccount, 'totpSealed' | 'totpLastStep' | 'keystore' | 'disabled' | 'passwordHash'>
    >,
  ): void;
  listUsers(): UserAccount[];

  insertClient(client: OAuthClient): void;
  client(clientId: string): OAuthClient | undefined;
  listClients(): OAuthClient[];
  updateClient(clientId: string, changes: Partial<Pick<OAuthClient, 'status'>>): void;
  deleteClient(clientId: string): boolean;

  insertCode(code: AuthorizationCode): void;
  code(codeHash: string): AuthorizationCode | undefined;
  /** Marks a code used; false if it was already used (a replay). */
  redeemCode(codeHash: string, at: number, family: string | undefined): boolean;

  insertRefreshToken(token: RefreshToken): void;
  refreshToken(tokenHash: string): RefreshToken | undefined;
  /** Marks a token rotated; false if it already was (a replay). */
  rotateRefreshToken(tokenHash: string, at: number): boolean;
  /** Revokes every refresh token of a grant, and every access token issued under it (their `fam` claim). */
  revokeFamily(family: string, at: number): void;
  isFamilyRevoked(family: string): boolean;

  /** Revoked access-token ids, kept until they would have expired anyway. */
  revokeAccessToken(jti: string, expiresAt: number): void;
  isAccessTokenRevoked(jti: string): boolean;
  /** Records a client-assertion jti; true if it was already seen (RFC 7523 §3 item 7). */
  seenAssertion(clientId: string, jti: string, expiresAt: number): boolean;

  insertNotification(notification: Notification): void;
  notifications(recipients: readonly string[]): Notification[];
  markNotificationRead(id: string, recipients: readonly string[], at: string): boolean;
}
