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
  readonly kind:
    | 'break-glass'
    | 'break-glass-review'
    | 'access-request'
    | 'integrity-alert'
    | 'supply-recall';
  /** Non-PHI summary: ids and times only. */
  readonly message: string;
  readonly subject: string;
  readonly createdAt: string;
  readonly readAt?: string;
}

/** What one request's bearer token depends on besides its signature (decision 0017: asked every time). */
export interface TokenStatus {
  /** The token's jti or its grant (refresh-token family) was revoked. */
  readonly revoked: boolean;
  /** The token's user, when a user id was asked for and exists. */
  readonly user?: UserAccount;
  /** The token's OAuth client, when a client id was asked for and is registered. */
  readonly client?: OAuthClient;
}

/**
 * What the authorization server keeps, on SQLite (src/storage/sqlite/sqlite-auth-store.ts) or
 * PostgreSQL (src/storage/postgres/postgres-auth-store.ts). Every method is one indexed statement
 * (two where noted); none reads and then writes, so several node processes may share one store.
 */
export interface AuthStore extends ThrottleStore {
  insertUser(user: UserAccount): Promise<void>;
  userById(id: string): Promise<UserAccount | undefined>;
  userByUsername(username: string): Promise<UserAccount | undefined>;
  userByFhirUser(fhirUser: string): Promise<UserAccount | undefined>;
  updateUser(
    id: string,
    changes: Partial<
      Pick<UserAccount, 'totpSealed' | 'totpLastStep' | 'keystore' | 'disabled' | 'passwordHash'>
    >,
  ): Promise<void>;
  /**
   * Records that a TOTP time step was used, only if it is later than the last one used: false when
   * another sign-in consumed it first (RFC 6238 §5.2, one statement for every process).
   */
  consumeTotpStep(id: string, step: number): Promise<boolean>;
  listUsers(): Promise<UserAccount[]>;

  insertClient(client: OAuthClient): Promise<void>;
  client(clientId: string): Promise<OAuthClient | undefined>;
  listClients(): Promise<OAuthClient[]>;
  updateClient(clientId: string, changes: Partial<Pick<OAuthClient, 'status'>>): Promise<void>;
  deleteClient(clientId: string): Promise<boolean>;

  insertCode(code: AuthorizationCode): Promise<void>;
  code(codeHash: string): Promise<AuthorizationCode | undefined>;
  /** Marks a code used; false if it was already used (a replay). */
  redeemCode(codeHash: string, at: number, family: string | undefined): Promise<boolean>;

  insertRefreshToken(token: RefreshToken): Promise<void>;
  refreshToken(tokenHash: string): Promise<RefreshToken | undefined>;
  /** Marks a token rotated; false if it already was (a replay). */
  rotateRefreshToken(tokenHash: string, at: number): Promise<boolean>;
  /** Revokes every refresh token of a grant, and every access token issued under it (their `fam` claim). */
  revokeFamily(family: string, at: number): Promise<void>;
  isFamilyRevoked(family: string): Promise<boolean>;

  /** Revoked access-token ids, kept until they would have expired anyway. */
  revokeAccessToken(jti: string, expiresAt: number): Promise<void>;
  isAccessTokenRevoked(jti: string): Promise<boolean>;
  /**
   * One bearer token's revocation (its jti or its family), its user and its client, in one
   * statement: the only store work of an authenticated request (one round trip on PostgreSQL).
   */
  tokenStatus(
    jti: string,
    family: string | undefined,
    userId: string | undefined,
    clientId?: string,
  ): Promise<TokenStatus>;
  /** Records a client-assertion jti; true if it was already seen (RFC 7523 §3 item 7). */
  seenAssertion(clientId: string, jti: string, expiresAt: number): Promise<boolean>;

  insertNotification(notification: Notification): Promise<void>;
  notifications(recipients: readonly string[]): Promise<Notification[]>;
  markNotificationRead(id: string, recipients: readonly string[], at: string): Promise<boolean>;
}
