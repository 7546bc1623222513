import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { getAddress, isAddress } from 'viem';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { evaluateTotp, isPasswordCorrect } from '../identity/index.js';
import { isPurposeOfUse } from '../ledger/codes.js';
import { verifyAddressJwt } from '../smart/address-jwt.js';
import { verifyClientStanding } from '../smart/client-standing.js';
import {
  formatScopes,
  isScopeSubset,
  type Jwk,
  narrowScopes,
  parsePkceChallenge,
  parseScopes,
  type Scope,
  signJwt,
  verifyJwt,
  verifyPkce,
} from '../smart/index.js';
import { JwtVerificationCache } from '../smart/jwt-verification-cache.js';
import type { AuthStore, OAuthClient, UserAccount } from './auth-store.js';
import { authenticateClient } from './client-authentication.js';
import { oauthError } from './oauth-error.js';
import { SignInThrottle, type ThrottleLockout } from './sign-in-throttle.js';
import { TokenEndpointLimits, type TokenRequestLimit } from './token-endpoint-limits.js';

export { type OAuthErrorCode, oauthError } from './oauth-error.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

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

/** What any user may be granted; the access policy decides what each request may actually do. */
const USER_SCOPES = parseScopes(
  'openid fhirUser profile launch/patient offline_access online_access patient/*.cruds user/*.cruds',
);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const opaque = () => randomBytes(32).toString('base64url');
const CODE_SECONDS = 60;

/** RFC 8252 §7.3: a loopback redirect URI matches whatever port the native app picked. */
function isRegisteredRedirect(client: OAuthClient, uri: string): boolean {
  if (client.redirectUris.includes(uri)) return true;
  let given: URL;
  try {
    given = new URL(uri);
  } catch {
    return false;
  }
  if (given.hostname !== '127.0.0.1' && given.hostname !== '[::1]') return false;
  return client.redirectUris.some((registered) => {
    const r = new URL(registered);
    return r.hostname === given.hostname && r.pathname === given.pathname && r.protocol === given.protocol;
  });
}

/**
 * The node as an OAuth 2.0 / OpenID Connect authorization server for its own users and for the other
 * members' systems: SMART App Launch v2 (authorization code with PKCE S256, v2 scopes, refresh tokens
 * rotated on every use and revocable) and SMART Backend Services (client credentials with
 * private_key_jwt). Access tokens are ES256 JWTs the node verifies itself; revocation is checked on
 * every request.
 */
export class AuthorizationServer {
  private readonly now: () => number;
  readonly tokenEndpoint: string;
  /** Failed passwords and one-time codes: growing delays, then lockout (RFC 4226 §7.3). */
  readonly throttle: SignInThrottle;
  /** Access tokens' signatures and claims, verified once (revocation is still checked each time). */
  private readonly verifiedTokens = new JwtVerificationCache();
  /** Per-client_id limits at the token endpoint. */
  private readonly limits: TokenEndpointLimits;

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
  }

  private seconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** `/.well-known/smart-configuration` (SMART App Launch §2.0.4). */
  smartConfiguration(): Record<string, unknown> {
    const base = this.options.issuer;
    return {
      issuer: base,
      jwks_uri: `${base}/oauth/jwks`,
      authorization_endpoint: `${base}/oauth/authorize`,
      token_endpoint: this.tokenEndpoint,
      revocation_endpoint: `${base}/oauth/revoke`,
      introspection_endpoint: `${base}/oauth/introspect`,
      registration_endpoint: `${base}/oauth/register`,
      userinfo_endpoint: `${base}/oauth/userinfo`,
      grant_types_supported: [
        'authorization_code',
        'refresh_token',
        'client_credentials',
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
      ],
      token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'ES256', 'ES256K'],
      scopes_supported: [
        'openid',
        'fhirUser',
        'profile',
        'launch/patient',
        'offline_access',
        'online_access',
        'patient/*.cruds',
        'user/*.cruds',
        'system/*.rs',
      ],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      capabilities: [
        'launch-standalone',
        'client-public',
        'client-confidential-asymmetric',
        'context-standalone-patient',
        'permission-offline',
        'permission-online',
        'permission-patient',
        'permission-user',
        'permission-v2',
        'permission-v1',
        'sso-openid-connect',
        'authorize-post',
      ],
    };
  }

  openIdConfiguration(): Record<string, unknown> {
    const smart = this.smartConfiguration();
    return {
      ...smart,
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      claims_supported: ['sub', 'fhirUser', 'name', 'iss', 'aud', 'exp', 'iat', 'nonce'],
    };
  }

  jwks(): { keys: Jwk[] } {
    return { keys: [this.options.signingKey.publicJwk] };
  }

  /**
   * Validates an authorization request. Errors about the client or redirect URI are shown to the user
   * (never redirected to an unverified URI, RFC 6749 §4.1.2.1); the rest go back to the client.
   */
  async parseAuthorizeRequest(params: URLSearchParams): Promise<AuthorizeRequest> {
    const clientId = params.get('client_id') ?? '';
    const client = await this.options.store.client(clientId);
    if (client === undefined) throw oauthError('invalid_client', 'unknown client_id');
    if (client.status === 'pending') {
      throw oauthError('invalid_client', "this app is waiting for the node operator's approval");
    }
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!isRegisteredRedirect(client, redirectUri)) {
      throw oauthError('invalid_request', 'redirect_uri is not registered for this client');
    }
    if (params.get('response_type') !== 'code') {
      throw oauthError('unsupported_response_type', 'response_type must be code');
    }
    const state = params.get('state') ?? '';
    if (state === '') throw oauthError('invalid_request', 'state is required (SMART App Launch)');
    // SMART: aud names the FHIR server the app wants a token for; a token for another server is refused.
    const aud = (params.get('aud') ?? '').replace(/\/$/, '');
    if (aud !== this.options.fhirBaseUrl) {
      throw oauthError('invalid_request', `aud must be this FHIR server, ${this.options.fhirBaseUrl}`);
    }
    const { challenge } = parsePkceChallenge(
      params.get('code_challenge'),
      params.get('code_challenge_method'),
    );
    const requested = parseScopes(params.get('scope') ?? '');
    const scope = narrowScopes(requested, this.allowedFor(client));
    const nonce = params.get('nonce');
    return {
      client,
      redirectUri,
      state,
      scope,
      codeChallenge: challenge,
      aud,
      ...(nonce === null ? {} : { nonce }),
    };
  }

  private allowedFor(client: OAuthClient): Scope[] {
    return narrowScopes(USER_SCOPES, parseScopes(client.allowedScopes));
  }

  /**
   * Password, then TOTP (RFC 6238, a code never accepted twice), then for a practitioner the ledger
   * attestation of their credential. One vague message for a wrong username or password. Throttled
   * per username typed (existing or not) and per source address, before the password is checked.
   */
  async authenticateUser(
    username: string,
    password: string,
    totp: string,
    source: AttemptSource = {},
  ): Promise<UserAccount> {
    const user = await this.options.store.userByUsername(username);
    const attempt = await this.throttle.begin(
      [
        { scope: 'account', id: username },
        ...(source.address === undefined ? [] : [{ scope: 'client' as const, id: source.address }]),
      ],
      user?.fhirUser,
    );
    try {
      // Hash even for an unknown user, so timing does not reveal which usernames exist.
      const passwordOk = await isPasswordCorrect(
        password,
        user?.passwordHash ??
          '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ).catch(() => false);
      if (user === undefined || !passwordOk || user.disabled) {
        throw oauthError('access_denied', 'wrong username or password', 'ERR_UNAUTHENTICATED');
      }
      await this.checkSecondFactor(user, totp);
    } catch (error) {
      await attempt.failed();
      throw error;
    }
    await attempt.succeeded();
    if (user.fhirUser.startsWith('Practitioner/')) {
      const attested =
        user.ledgerAddress !== undefined &&
        (await (this.options.isPractitionerAttested?.(user.ledgerAddress) ?? Promise.resolve(false)));
      if (!attested) {
        throw oauthError(
          'access_denied',
          "this practitioner's credential is not attested on the ledger by this member",
          'ERR_FORBIDDEN',
        );
      }
    }
    return user;
  }

  /**
   * Checks a TOTP code for the user and consumes its time step (a replayed code fails). Throttled per
   * user wherever the code is checked (sign-in, break-glass) and, given a source, per address: a
   * 6-digit code falls to a million guesses otherwise (RFC 4226 §7.3, RFC 6238 §5.2).
   */
  async checkSecondFactor(user: UserAccount, code: string, source?: AttemptSource): Promise<void> {
    if (user.totpSealed === undefined) {
      throw oauthError(
        'access_denied',
        'a second factor is required and none is enrolled',
        'ERR_UNAUTHENTICATED',
      );
    }
    const attempt = await this.throttle.begin(
      [
        { scope: 'second-factor', id: user.id },
        ...(source?.address === undefined ? [] : [{ scope: 'client' as const, id: source.address }]),
      ],
      user.fhirUser,
    );
    const secret = await this.options.openSecret(user.totpSealed);
    const result = evaluateTotp(code.trim(), secret, this.now(), {
      ...(user.totpLastStep === undefined ? {} : { lastUsedStep: user.totpLastStep }),
    });
    // The step is consumed in one statement: of two sign-ins with the same code, one wins.
    if (!result.valid || !(await this.options.store.consumeTotpStep(user.id, result.step))) {
      await attempt.failed();
      throw oauthError(
        'access_denied',
        'the one-time code is wrong, expired or already used',
        'ERR_UNAUTHENTICATED',
      );
    }
    await attempt.succeeded();
  }

  /** Issues an authorization code for a signed-in user; returns the redirect URL (RFC 6749 §4.1.2). */
  async issueCode(request: AuthorizeRequest, user: UserAccount, launchPatient?: string): Promise<string> {
    const wantsPatient = request.scope.some((s) => s.kind === 'named' && s.name === 'launch/patient');
    let patient: string | undefined;
    if (user.fhirUser.startsWith('Patient/')) patient = user.fhirUser.slice('Patient/'.length);
    else if (wantsPatient) {
      if (launchPatient === undefined || !/^[A-Za-z0-9\-.]{1,64}$/.test(launchPatient)) {
        throw oauthError('invalid_request', 'choose the patient for this app (launch/patient)');
      }
      patient = launchPatient;
    }
    const code = opaque();
    await this.options.store.insertCode({
      codeHash: sha256(code),
      clientId: request.client.clientId,
      userId: user.id,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      scope: formatScopes(request.scope),
      expiresAt: this.seconds() + CODE_SECONDS,
      ...(patient === undefined ? {} : { patient }),
      ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
    });
    const url = new URL(request.redirectUri);
    url.searchParams.set('code', code);
    url.searchParams.set('state', request.state);
    return url.toString();
  }

  /** The token endpoint (RFC 6749 §3.2): authorization_code, refresh_token, client_credentials. */
  async token(form: URLSearchParams): Promise<TokenResponse> {
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code') return this.redeemCode(form);
    if (grantType === 'refresh_token') return this.refresh(form);
    if (grantType === 'client_credentials') return this.clientCredentials(form);
    if (grantType === JWT_BEARER) return this.patientAssertion(form);
    throw oauthError(
      'unsupported_grant_type',
      'grant_type must be authorization_code, refresh_token, client_credentials or jwt-bearer',
    );
  }

  /** Client authentication (client-authentication.ts), with the per-client_id limits. */
  private authenticateClient(form: URLSearchParams): Promise<OAuthClient> {
    return authenticateClient(form, {
      store: this.options.store,
      limits: this.limits,
      tokenEndpoint: this.tokenEndpoint,
      seconds: () => this.seconds(),
    });
  }

  private async redeemCode(form: URLSearchParams): Promise<TokenResponse> {
    const client = await this.authenticateClient(form);
    const codeHash = sha256(form.get('code') ?? '');
    const code = await this.options.store.code(codeHash);
    if (code === undefined || code.clientId !== client.clientId) {
      throw oauthError('invalid_grant', 'unknown authorization code');
    }
    if (code.usedAt !== undefined) {
      // RFC 6749 §4.1.2: a code used twice is an attack; revoke what it issued.
      if (code.family !== undefined) await this.options.store.revokeFamily(code.family, this.seconds());
      throw oauthError('invalid_grant', 'the authorization code was already used');
    }
    if (code.expiresAt < this.seconds()) throw oauthError('invalid_grant', 'the authorization code expired');
    if ((form.get('redirect_uri') ?? '') !== code.redirectUri) {
      throw oauthError('invalid_grant', 'redirect_uri differs from the authorization request');
    }
    try {
      verifyPkce(form.get('code_verifier'), code.codeChallenge, 'S256');
    } catch {
      throw oauthError('invalid_grant', 'the PKCE code_verifier does not match the code_challenge');
    }
    const user = await this.options.store.userById(code.userId);
    if (user === undefined || user.disabled)
      throw oauthError('invalid_grant', 'the user is no longer active');
    const family = randomUUID();
    if (!(await this.options.store.redeemCode(codeHash, this.seconds(), family))) {
      throw oauthError('invalid_grant', 'the authorization code was already used');
    }
    return await this.issueTokens(client, user, code.scope, code.patient, family, code.nonce);
  }

  private async refresh(form: URLSearchParams): Promise<TokenResponse> {
    const tokenHash = sha256(form.get('refresh_token') ?? '');
    const token = await this.options.store.refreshToken(tokenHash);
    // RFC 6749 §6: a public client may refresh without client_id (fhirclient does); the token names it.
    if (form.get('client_id') === null && form.get('client_assertion') === null && token !== undefined) {
      form.set('client_id', token.clientId);
    }
    const client = await this.authenticateClient(form);
    const now = this.seconds();
    if (token === undefined || token.clientId !== client.clientId)
      throw oauthError('invalid_grant', 'unknown refresh token');
    if (token.revokedAt !== undefined) throw oauthError('invalid_grant', 'the refresh token was revoked');
    if (token.expiresAt < now) throw oauthError('invalid_grant', 'the refresh token expired');
    if (token.rotatedAt !== undefined) {
      // OAuth 2.0 Security BCP §4.14.2: reuse of a rotated refresh token revokes the whole grant.
      await this.options.store.revokeFamily(token.family, now);
      throw oauthError('invalid_grant', 'the refresh token was already used; the grant is revoked');
    }
    let scope = token.scope;
    const asked = form.get('scope');
    if (asked !== null) {
      const requested = parseScopes(asked);
      const granted = parseScopes(token.scope);
      // RFC 6749 §6: the scope asked on refresh must not include any scope not originally granted.
      if (!isScopeSubset(requested, granted)) {
        throw oauthError('invalid_scope', 'a refresh cannot widen the scope granted');
      }
      const narrowed = narrowScopes(requested, granted);
      scope = formatScopes(narrowed);
    }
    const user = await this.options.store.userById(token.userId);
    if (user === undefined || user.disabled)
      throw oauthError('invalid_grant', 'the user is no longer active');
    // Rotation (OAuth 2.0 Security BCP §4.14.2): this token is spent; a concurrent second use loses.
    if (!(await this.options.store.rotateRefreshToken(tokenHash, now))) {
      await this.options.store.revokeFamily(token.family, now);
      throw oauthError('invalid_grant', 'the refresh token was already used; the grant is revoked');
    }
    return await this.issueTokens(client, user, scope, token.patient, token.family);
  }

  /**
   * RFC 7523 §2.1 authorization grant: a patient's assertion signed with their ledger key (ES256K,
   * see `createPatientAssertion`). The patient is this node's Patient carrying that ledger address;
   * the token reads only that patient's compartment, for PATRQT (the patient's own request).
   */
  private async patientAssertion(form: URLSearchParams): Promise<TokenResponse> {
    const assertion = form.get('assertion') ?? '';
    const now = this.seconds();
    let address: string;
    let jti: string;
    let exp: number;
    try {
      const verified = await verifyAddressJwt(assertion, { audience: this.tokenEndpoint, now });
      address = verified.address;
      jti = verified.claims.jti as string;
      exp = verified.claims.exp as number;
    } catch (error) {
      const reason = error instanceof CareLedgerError ? String(error.details.reason ?? '') : '';
      throw oauthError('invalid_grant', `the assertion is not valid (${reason || 'invalid'})`);
    }
    await this.limits.countRequest(`patient:${address}`);
    if (await this.options.store.seenAssertion(`patient:${address}`, jti, exp))
      throw oauthError('invalid_grant', 'the assertion was already used (jti replay)');
    const patient = await this.options.patientByLedgerAddress?.(address as `0x${string}`);
    if (patient === undefined)
      throw oauthError('invalid_grant', 'no patient at this member holds that ledger address');
    const requested = parseScopes(form.get('scope') ?? 'patient/*.rs');
    const granted = narrowScopes(requested, parseScopes('patient/*.rs'));
    if (granted.length === 0)
      throw oauthError('invalid_scope', 'a patient assertion grants patient/*.rs only');
    const expiresIn = Math.min(300, this.options.accessTokenSeconds ?? 300);
    const claims: AccessClaims = {
      iss: this.options.issuer,
      aud: this.options.fhirBaseUrl,
      sub: address,
      client_id: `patient:${address}`,
      scope: formatScopes(granted),
      jti: randomUUID(),
      iat: now,
      exp: now + expiresIn,
      fhirUser: `Patient/${patient}`,
      patient,
      purpose: 'PATRQT',
      amr: ['patient-key'],
    };
    return {
      access_token: await signJwt({ ...claims }, this.options.signingKey.privateJwk),
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope: claims.scope,
      patient,
    };
  }

  /**
   * A consortium member's client assertion (ES256K, signed by its ledger key): the member is the
   * client, known from the ledger, so no member registers at every other member.
   */
  private async authenticateMember(form: URLSearchParams): Promise<OAuthClient | undefined> {
    const assertion = form.get('client_assertion');
    if (assertion === null || this.options.isActiveMember === undefined) return undefined;
    let alg: unknown;
    try {
      alg = JSON.parse(Buffer.from(assertion.split('.')[0] ?? '', 'base64url').toString('utf8')).alg;
    } catch {
      return undefined;
    }
    if (alg !== 'ES256K') return undefined;
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      throw oauthError('invalid_client', 'client_assertion_type must be jwt-bearer', 'ERR_UNAUTHENTICATED');
    }
    let verified: ReturnType<typeof verifyAddressJwt>;
    try {
      verified = await verifyAddressJwt(assertion, { audience: this.tokenEndpoint, now: this.seconds() });
    } catch (error) {
      const reason = error instanceof CareLedgerError ? String(error.details.reason ?? '') : '';
      throw oauthError('invalid_client', `client authentication failed (${reason})`, 'ERR_UNAUTHENTICATED');
    }
    const member = getAddress(verified.address);
    if (!(await this.options.isActiveMember(member)))
      throw oauthError(
        'invalid_client',
        'the signer is not an active consortium member',
        'ERR_UNAUTHENTICATED',
      );
    await this.limits.countRequest(member);
    if (
      await this.options.store.seenAssertion(
        member,
        verified.claims.jti as string,
        verified.claims.exp as number,
      )
    )
      throw oauthError('invalid_client', 'client authentication failed (jti replay)', 'ERR_UNAUTHENTICATED');
    return {
      clientId: member,
      name: 'consortium member',
      redirectUris: [],
      allowedScopes: 'system/*.rs',
      memberAddress: member,
      createdAt: new Date(0).toISOString(),
    };
  }

  /**
   * On whose behalf and why a member asks (IHE IUA-style token request parameters): `purpose_of_use`
   * (an HL7 v3 PurposeOfUse code) and `practitioner` (the ledger address of a practitioner the
   * requesting member attests on the ledger).
   */
  private async memberActor(
    form: URLSearchParams,
    member: string,
  ): Promise<{ purpose?: string; act?: { sub: string } }> {
    const purpose = form.get('purpose_of_use') ?? undefined;
    if (purpose !== undefined && !isPurposeOfUse(purpose))
      throw oauthError('invalid_request', 'purpose_of_use is not an HL7 v3 PurposeOfUse code');
    const practitioner = form.get('practitioner') ?? undefined;
    if (practitioner === undefined) return purpose === undefined ? {} : { purpose };
    if (!isAddress(practitioner, { strict: false }))
      throw oauthError('invalid_request', 'practitioner must be a ledger address');
    const attestation = await this.options.practitionerAttestation?.(getAddress(practitioner));
    if (
      attestation === undefined ||
      attestation.revoked ||
      attestation.organization.toLowerCase() !== member.toLowerCase() ||
      attestation.expiresAt <= this.seconds()
    ) {
      throw oauthError(
        'invalid_grant',
        'the practitioner is not attested on the ledger by the requesting member',
      );
    }
    return {
      ...(purpose === undefined ? {} : { purpose }),
      act: { sub: `Practitioner/${getAddress(practitioner)}` },
    };
  }

  private async clientCredentials(form: URLSearchParams): Promise<TokenResponse> {
    if (form.get('client_assertion') === null) {
      throw oauthError(
        'invalid_client',
        'client_credentials needs private_key_jwt client authentication',
        'ERR_UNAUTHENTICATED',
      );
    }
    const client = (await this.authenticateMember(form)) ?? (await this.authenticateClient(form));
    const actor =
      client.memberAddress === undefined ? {} : await this.memberActor(form, client.memberAddress);
    const requested = parseScopes(form.get('scope') ?? '');
    const granted = narrowScopes(requested, parseScopes(client.allowedScopes));
    if (granted.length === 0)
      throw oauthError('invalid_scope', 'none of the requested scopes is allowed to this client');
    const now = this.seconds();
    const expiresIn = Math.min(300, this.options.accessTokenSeconds ?? 300);
    const claims: AccessClaims = {
      iss: this.options.issuer,
      aud: this.options.fhirBaseUrl,
      sub: client.clientId,
      client_id: client.clientId,
      scope: formatScopes(granted),
      jti: randomUUID(),
      iat: now,
      exp: now + expiresIn,
      ...(client.memberAddress === undefined ? {} : { member: client.memberAddress }),
      ...actor,
    };
    return {
      access_token: await signJwt({ ...claims }, this.options.signingKey.privateJwk),
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope: claims.scope,
    };
  }

  private async issueTokens(
    client: OAuthClient,
    user: UserAccount,
    scope: string,
    patient: string | undefined,
    family: string,
    nonce?: string,
  ): Promise<TokenResponse> {
    const now = this.seconds();
    const expiresIn = this.options.accessTokenSeconds ?? 3600;
    const scopes = parseScopes(scope);
    const named = new Set(scopes.filter((s) => s.kind === 'named').map((s) => (s as { name: string }).name));
    const claims: AccessClaims = {
      iss: this.options.issuer,
      aud: this.options.fhirBaseUrl,
      sub: user.id,
      client_id: client.clientId,
      scope,
      jti: randomUUID(),
      iat: now,
      exp: now + expiresIn,
      fhirUser: user.fhirUser,
      ...(patient === undefined ? {} : { patient }),
      ...(user.roles.length === 0 ? {} : { roles: user.roles }),
      fam: family,
    };
    let refresh: string | undefined;
    if (named.has('offline_access') || named.has('online_access')) {
      refresh = opaque();
      await this.options.store.insertRefreshToken({
        tokenHash: sha256(refresh),
        family,
        clientId: client.clientId,
        userId: user.id,
        scope,
        expiresAt: now + (this.options.refreshTokenSeconds ?? 30 * 24 * 3600),
        ...(patient === undefined ? {} : { patient }),
      });
    }
    const idToken = named.has('openid')
      ? await signJwt(
          {
            iss: this.options.issuer,
            sub: user.id,
            aud: client.clientId,
            iat: now,
            exp: now + expiresIn,
            ...(named.has('fhirUser') ? { fhirUser: `${this.options.fhirBaseUrl}/${user.fhirUser}` } : {}),
            ...(nonce === undefined ? {} : { nonce }),
          },
          this.options.signingKey.privateJwk,
        )
      : undefined;
    return {
      access_token: await signJwt({ ...claims }, this.options.signingKey.privateJwk),
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope,
      ...(refresh === undefined ? {} : { refresh_token: refresh }),
      ...(idToken === undefined ? {} : { id_token: idToken }),
      ...(patient === undefined
        ? {}
        : { patient, need_patient_banner: !user.fhirUser.startsWith('Patient/') }),
    };
  }

  /** Verifies an access token: signature, issuer, audience, expiry, not revoked, user still active. */
  async verifyAccessToken(token: string): Promise<AccessClaims> {
    let payload: Record<string, unknown>;
    try {
      payload = (
        await this.verifiedTokens.verify(token, {
          keys: [this.options.signingKey.publicJwk],
          algorithms: ['ES256'],
          now: this.seconds(),
          issuer: this.options.issuer,
          audience: this.options.fhirBaseUrl,
          clockToleranceSeconds: 0,
          requireClaims: ['exp', 'jti', 'sub', 'scope'],
        })
      ).payload as Record<string, unknown>;
    } catch (error) {
      const reason = error instanceof CareLedgerError ? String(error.details.reason ?? 'invalid') : 'invalid';
      throw new CareLedgerError('ERR_UNAUTHENTICATED', `the access token is not valid (${reason})`, {
        details: { oauth: 'invalid_token', reason },
      });
    }
    const claims = payload as unknown as AccessClaims;
    // Revocation and the user's standing are asked every time, in one statement (decision 0017).
    const signedIn = claims.fhirUser !== undefined && !claims.amr?.includes('patient-key');
    const status = await this.options.store.tokenStatus(
      claims.jti,
      typeof claims.fam === 'string' ? claims.fam : undefined,
      signedIn ? claims.sub : undefined,
      claims.client_id.startsWith('patient:') ? undefined : claims.client_id,
    );
    if (status.revoked) {
      throw new CareLedgerError('ERR_UNAUTHENTICATED', 'the access token was revoked', {
        details: { oauth: 'invalid_token', reason: 'revoked' },
      });
    }
    if (signedIn) {
      const user = status.user;
      if (user === undefined || user.disabled) {
        throw new CareLedgerError('ERR_UNAUTHENTICATED', 'the user is no longer active', {
          details: { oauth: 'invalid_token', reason: 'user-disabled' },
        });
      }
    }
    // Issue 14: a removed (or no longer approved) client's tokens end at the next request.
    await verifyClientStanding(claims, async () => status.client);
    return claims;
  }

  /** The AccessContext of a verified token: who, their roles, the token's scopes and patient context. */
  accessContext(claims: AccessClaims, purpose: string | undefined, organization: string): AccessContext {
    const who =
      claims.fhirUser ??
      (claims.member === undefined ? `Device/${claims.sub}` : `Organization/${claims.member}`);
    const defaultPurpose = who.startsWith('Patient/') ? 'PATRQT' : 'TREAT';
    return {
      who,
      organization,
      // A token limited to a purpose keeps it: the request cannot pick another one.
      purpose: claims.purpose ?? purpose ?? defaultPurpose,
      ...(claims.act === undefined ? {} : { onBehalfOf: claims.act.sub }),
      scopes: parseScopes(claims.scope),
      ...(claims.roles === undefined ? {} : { roles: claims.roles }),
      ...(claims.member === undefined ? {} : { member: claims.member }),
      ...(claims.patient === undefined ? {} : { launchPatient: claims.patient }),
      clientId: claims.client_id,
    };
  }

  /** RFC 7009: revokes a refresh token (and its grant) or an access token; unknown tokens are fine. */
  async revoke(form: URLSearchParams): Promise<void> {
    const token = form.get('token') ?? '';
    const now = this.seconds();
    const refresh = await this.options.store.refreshToken(sha256(token));
    if (refresh !== undefined) {
      await this.options.store.revokeFamily(refresh.family, now);
      return;
    }
    let claims: AccessClaims;
    try {
      claims = (
        await verifyJwt(token, {
          keys: [this.options.signingKey.publicJwk],
          algorithms: ['ES256'],
          now,
          issuer: this.options.issuer,
          audience: this.options.fhirBaseUrl,
        })
      ).payload as unknown as AccessClaims;
    } catch {
      return; // RFC 7009 §2.2: an invalid token needs no revocation.
    }
    await this.options.store.revokeAccessToken(claims.jti, claims.exp);
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
