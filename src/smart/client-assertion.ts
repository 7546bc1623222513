/**
 * `private_key_jwt` client authentication (RFC 7523 §2.2, §3) with the constraints of SMART App Launch
 * 2.x Backend Services ("Authenticating to the Token endpoint" and its "Authentication JWT" tables).
 */
import { randomBytes } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';
import {
  JWT_FAILURE_REASONS,
  type Jwk,
  type JwtAlgorithm,
  parseUnverifiedJwt,
  signJwt,
  verifyJwt,
} from './jwt.js';

// SMART Backend Services: clients SHALL support RS384 or ES384 and servers both. ES256 is also taken
// for members whose keys predate that rule.
export const CLIENT_ASSERTION_ALGORITHMS = [
  'RS384',
  'ES384',
  'ES256',
] as const satisfies readonly JwtAlgorithm[];

// SMART Backend Services: exp "SHALL be no more than five minutes in the future".
export const MAX_CLIENT_ASSERTION_LIFETIME_SECONDS = 300;

// What `createClientAssertion` uses: a minute under the limit, so a server whose clock is a little
// behind ours still accepts it.
const DEFAULT_LIFETIME_SECONDS = 240;

/** `JWT_FAILURE_REASONS` plus the client-authentication ones. */
export const CLIENT_ASSERTION_FAILURE_REASONS = [
  ...JWT_FAILURE_REASONS,
  'unknown-client',
  'wrong-subject',
  'lifetime-too-long',
  'replayed',
] as const;
export type ClientAssertionFailureReason = (typeof CLIENT_ASSERTION_FAILURE_REASONS)[number];

export interface VerifyClientAssertionOptions {
  /** This server's token endpoint URL, the `aud` the assertion must name (RFC 7523 §3 item 3). */
  tokenEndpoint: string;
  /** Seconds since the epoch. */
  now: number;
  /** The client's registered JWK Set keys, or undefined when the client is unknown. */
  clientJwks: (clientId: string) => readonly Jwk[] | undefined;
  /** Returns true when this jti was already used; the caller stores it until `exp`. */
  seenJti: (clientId: string, jti: string, exp: number) => boolean;
  clockToleranceSeconds?: number;
}

export interface CreateClientAssertionOptions {
  clientId: string;
  tokenEndpoint: string;
  privateJwk: Jwk;
  /** Seconds since the epoch. */
  now: number;
  /** Defaults to 128 random bits. */
  jti?: string;
  lifetimeSeconds?: number;
}

/**
 * Authenticates a client from its `client_assertion`. Throws `ERR_UNAUTHENTICATED` (or
 * `ERR_SIGNATURE_INVALID` for a bad signature) with a reason from `CLIENT_ASSERTION_FAILURE_REASONS`;
 * the token endpoint answers `invalid_client` (RFC 6749 §5.2).
 */
export async function verifyClientAssertion(
  assertion: string,
  options: VerifyClientAssertionOptions,
): Promise<{ clientId: string }> {
  const { header, payload } = parseUnverifiedJwt(assertion);
  if (!(CLIENT_ASSERTION_ALGORITHMS as readonly string[]).includes(header.alg)) {
    fail('unsupported-algorithm', 'client assertions must use RS384, ES384 or ES256');
  }
  // SMART Backend Services: kid is required in the header and unique within the client's JWK Set.
  if (header.kid === undefined) fail('malformed', 'the client assertion header lacks kid', { field: 'kid' });
  // RFC 7523 §3 item 1 and SMART: iss is the client_id. It is read before the signature is checked
  // only to find the keys to check it with; verifyJwt then binds it to those keys.
  const clientId = payload.iss;
  if (clientId === undefined || clientId === '')
    fail('missing-claim', 'the client assertion lacks iss', { claim: 'iss' });
  const keys = options.clientJwks(clientId);
  if (keys === undefined) fail('unknown-client', 'the client is not registered');

  const verified = (
    await verifyJwt(assertion, {
      keys,
      algorithms: CLIENT_ASSERTION_ALGORITHMS,
      now: options.now,
      issuer: clientId,
      audience: options.tokenEndpoint,
      // RFC 7523 §3 items 2 and 4 require sub and exp; SMART adds jti and aud.
      requireClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
      clockToleranceSeconds: options.clockToleranceSeconds,
    })
  ).payload;
  // RFC 7523 §2.2: for client authentication, sub MUST be the client_id.
  if (verified.sub !== clientId) fail('wrong-subject', 'the client assertion sub is not its iss');
  const exp = verified.exp as number;
  const tolerance = options.clockToleranceSeconds ?? 60;
  if (exp > options.now + MAX_CLIENT_ASSERTION_LIFETIME_SECONDS + tolerance) {
    fail('lifetime-too-long', 'the client assertion expires more than five minutes from now');
  }
  const jti = verified.jti as string;
  if (jti === '') fail('malformed', 'the client assertion jti is empty', { claim: 'jti' });
  // RFC 7523 §3 item 7 and SMART: a jti is accepted once. Asked last, after the signature, so forged
  // assertions cannot burn a client's jti values.
  if (options.seenJti(clientId, jti, exp)) fail('replayed', 'the client assertion jti was already used');
  return { clientId };
}

/** A `client_assertion` for this node's own calls to another member's token endpoint. */
export async function createClientAssertion(options: CreateClientAssertionOptions): Promise<string> {
  const lifetime = options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  if (
    options.clientId === '' ||
    options.tokenEndpoint === '' ||
    !Number.isFinite(options.now) ||
    !(Number.isInteger(lifetime) && lifetime > 0 && lifetime <= MAX_CLIENT_ASSERTION_LIFETIME_SECONDS) ||
    options.jti === ''
  ) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'invalid client assertion options', {
      details: { reason: 'invalid-options' },
    });
  }
  // SMART Backend Services: exp is an integer number of seconds.
  const now = Math.floor(options.now);
  return signJwt(
    {
      iss: options.clientId,
      sub: options.clientId,
      aud: options.tokenEndpoint,
      exp: now + lifetime,
      iat: now,
      jti: options.jti ?? randomBytes(16).toString('base64url'),
    },
    options.privateJwk,
  );
}

function fail(reason: ClientAssertionFailureReason, message: string, extra?: Record<string, unknown>): never {
  throw new CareLedgerError(
    reason === 'bad-signature' ? 'ERR_SIGNATURE_INVALID' : 'ERR_UNAUTHENTICATED',
    message,
    {
      details: { reason, ...extra },
    },
  );
}
