/**
 * Compact JWS (RFC 7515) JSON Web Tokens (RFC 7519) for the node acting as an authorization server:
 * signing keys as JWKs (RFC 7517), their thumbprints (RFC 7638), signing and verification.
 * Signing, key import, signature verification and the claim checks are `jose`'s (panva/jose,
 * docs/decisions/0009); this module keeps our policy in front of it: a strict parse, the algorithm
 * list the verifier (never the token) chooses, key selection by kid, use and key_ops, RSA ≥ 2048,
 * and errors with a closed list of reasons.
 * Only asymmetric algorithms exist here (RFC 7518 §3.3, §3.4): a shared-secret HMAC key would let every
 * verifier mint tokens, and SMART Backend Services asks for RS384 or ES384.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { importJWK, type JWK, errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { CareLedgerError } from '../errors/index.js';
import { decodeBase64url } from './base64url.js';

export const JWT_ALGORITHMS = ['ES256', 'ES384', 'RS384'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** The closed set of `details.reason` values that `verifyJwt` throws with. */
export const JWT_FAILURE_REASONS = [
  'expired',
  'not-yet-valid',
  'wrong-issuer',
  'wrong-audience',
  'malformed',
  'unsupported-algorithm',
  'unknown-key',
  'bad-signature',
  'missing-claim',
] as const;
export type JwtFailureReason = (typeof JWT_FAILURE_REASONS)[number];

/** A JSON Web Key (RFC 7517 §4; RFC 7518 §6.2 for EC, §6.3 for RSA members). */
export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  key_ops?: string[];
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  d?: string;
  [parameter: string]: unknown;
}

export interface JwtHeader {
  alg: JwtAlgorithm;
  typ?: string;
  kid?: string;
  [parameter: string]: unknown;
}

/** Registered claims (RFC 7519 §4.1) plus any others. */
export interface JwtPayload {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  [claim: string]: unknown;
}

export interface SigningKey {
  privateJwk: Jwk;
  publicJwk: Jwk;
}

export interface VerifyJwtOptions {
  /** The `keys` of the issuer's JWK Set (RFC 7517 §5). */
  keys: readonly Jwk[];
  /** Algorithms this verifier accepts; the token's `alg` never widens it (RFC 8725 §3.1). */
  algorithms: readonly JwtAlgorithm[];
  /** Current time in seconds since the epoch (RFC 7519 §2 NumericDate). */
  now: number;
  issuer?: string;
  /** This verifier's identity. A token carrying `aud` is refused unless this is one of its values. */
  audience?: string;
  clockToleranceSeconds?: number;
  requireClaims?: readonly string[];
}

export interface VerifiedJwt {
  header: JwtHeader;
  payload: JwtPayload;
}

/** A structurally valid JWT whose signature and claims have NOT been checked. */
export interface UnverifiedJwt {
  header: { alg: string; typ?: string; kid?: string; [parameter: string]: unknown };
  payload: JwtPayload;
  signingInput: string;
  signature: Buffer;
}

interface AlgorithmSpec {
  kty: 'EC' | 'RSA';
  crv?: 'P-256' | 'P-384';
}

// RFC 7518 §3.1: ES256 and ES384 are ECDSA over P-256 and P-384 (§3.4); RS384 is RSASSA-PKCS1-v1_5
// with SHA-384 (§3.3).
const ALGORITHMS: Readonly<Record<JwtAlgorithm, AlgorithmSpec>> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  RS384: { kty: 'RSA' },
};

// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms." New keys get
// 3072 bits, the size NIST SP 800-57 pairs with 128-bit security.
const MIN_RSA_BITS = 2048;
const NEW_RSA_BITS = 3072;

// Bounds the JSON parsing an unauthenticated caller can make us do. SMART access tokens with launch
// context stay far below this.
const MAX_JWT_LENGTH = 64 * 1024;

const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;

// RFC 7638 §3.2 (and RFC 8037 §2 for OKP): the required members of each key type, already in the
// lexicographic order the thumbprint input needs.
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
  oct: ['k', 'kty'],
};

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function isJwtAlgorithm(value: unknown): value is JwtAlgorithm {
  return typeof value === 'string' && Object.hasOwn(ALGORITHMS, value);
}

/** A fresh key pair for `alg`; both halves carry `kid` (its RFC 7638 thumbprint), `alg` and `use`. */
export function createSigningKey(alg: JwtAlgorithm): SigningKey {
  const spec = isJwtAlgorithm(alg) ? ALGORITHMS[alg] : undefined;
  if (spec === undefined) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'unsupported signing algorithm', {
      details: { reason: 'unsupported-algorithm' },
    });
  }
  const { privateKey } =
    spec.kty === 'EC'
      ? generateKeyPairSync('ec', { namedCurve: spec.crv ?? 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: NEW_RSA_BITS });
  const exported = privateKey.export({ format: 'jwk' }) as Jwk;
  const kid = computeJwkThumbprint(exported);
  // RFC 7517 §4.2 `use` and §4.4 `alg` pin the key to this one purpose and algorithm.
  const privateJwk: Jwk = { ...exported, kid, alg, use: 'sig' };
  const publicJwk: Jwk = { ...publicMembers(exported), kid, alg, use: 'sig' };
  return { privateJwk, publicJwk };
}

/** RFC 7638 JWK thumbprint: base64url SHA-256 of the required members, so `d` never affects it. */
export function computeJwkThumbprint(jwk: Jwk): string {
  const members = isRecord(jwk) && typeof jwk.kty === 'string' ? THUMBPRINT_MEMBERS[jwk.kty] : undefined;
  if (members === undefined) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'unsupported JWK key type', {
      details: { reason: 'malformed-key' },
    });
  }
  const parts: string[] = [];
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value === '') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'JWK lacks a required member', {
        details: { reason: 'malformed-key', member: name },
      });
    }
    // RFC 7638 §3.3: JSON string escaping as in RFC 7159, no whitespace between members.
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`);
  }
  return createHash('sha256')
    .update(`{${parts.join(',')}}`, 'utf8')
    .digest('base64url');
}

/** Compact JWS of `payload`: header `{ alg, typ: 'JWT', kid }` with `alg` taken from the key. */
export async function signJwt(payload: JwtPayload, privateJwk: Jwk): Promise<string> {
  if (!isRecord(payload)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'JWT claims must be a JSON object', {
      details: { reason: 'malformed-payload' },
    });
  }
  const alg = isRecord(privateJwk) ? algorithmForKey(privateJwk) : undefined;
  if (alg === undefined || !isKeyUsableFor(privateJwk, alg, 'sign')) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the key does not support a JWT signing algorithm', {
      details: { reason: 'unsupported-algorithm' },
    });
  }
  if (typeof privateJwk.d !== 'string') {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a private JWK is needed to sign', {
      details: { reason: 'not-a-private-key' },
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' });
  } catch (cause) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the private JWK cannot be imported', {
      cause,
      details: { reason: 'malformed-key' },
    });
  }
  if (!isKeyStrongEnough(key)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'RSA keys must have at least 2048 bits', {
      details: { reason: 'key-too-small' },
    });
  }
  const kid = privateJwk.kid ?? computeJwkThumbprint(privateJwk);
  return new SignJWT(payload)
    .setProtectedHeader({ alg, typ: 'JWT', kid })
    .sign(await importJWK(joseJwk(privateJwk), alg));
}

/**
 * Splits and decodes a compact JWS without checking its signature or claims. Only for reading
 * the claims that name the key to verify with (RFC 7523 §3: a client assertion's `iss`); never trust
 * the result otherwise.
 */
export function parseUnverifiedJwt(token: unknown): UnverifiedJwt {
  if (typeof token !== 'string' || token.length > MAX_JWT_LENGTH) malformed('not a JWT string');
  const parts = token.split('.');
  // RFC 7515 §7.1: three parts. Five would be a JWE (RFC 7516 §7.1), which is never accepted here.
  if (parts.length !== 3) malformed('a JWT has three parts');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = parseJsonObject(encodedHeader);
  const payload = parseJsonObject(encodedPayload);
  const signature = decodeBase64url(encodedSignature);
  if (header === undefined || payload === undefined || signature === undefined) {
    malformed('a JWT part is not base64url-encoded JSON');
  }
  if (typeof header.alg !== 'string') malformed('the JOSE header lacks alg');
  if (header.kid !== undefined && typeof header.kid !== 'string') malformed('kid is not a string');
  if (header.typ !== undefined && typeof header.typ !== 'string') malformed('typ is not a string');
  // RFC 7515 §4.1.11: no extension is implemented here, so any `crit` must make the JWS invalid.
  if (header.crit !== undefined) malformed('critical header parameters are not supported');
  checkRegisteredClaims(payload);
  return {
    header: header as UnverifiedJwt['header'],
    payload: payload as JwtPayload,
    signingInput: `${encodedHeader}.${encodedPayload}`,
    signature,
  };
}

/**
 * Verifies a compact JWS JWT: RFC 7515 §5.2 for the signature, then RFC 7519 §7.2 and §4.1 for the
 * claims. Returns the header and claims, or throws `ERR_SIGNATURE_INVALID` (reason `bad-signature`) or
 * `ERR_UNAUTHENTICATED` with a reason from `JWT_FAILURE_REASONS`.
 */
export async function verifyJwt(token: string, options: VerifyJwtOptions): Promise<VerifiedJwt> {
  const tolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  // A NaN clock would make every expiry comparison false, i.e. accept expired tokens.
  if (!Number.isFinite(options.now) || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'verifyJwt needs a finite clock and tolerance', {
      details: { reason: 'invalid-options' },
    });
  }
  const { header } = parseUnverifiedJwt(token);

  // RFC 8725 §2.1, §3.1: the verifier, not the token, decides the algorithm. This is where
  // `alg: none` and HMAC-with-a-public-key confusion are refused, before any key is touched.
  const alg = header.alg;
  if (!isJwtAlgorithm(alg) || !options.algorithms.includes(alg)) {
    fail('unsupported-algorithm', 'the JWT algorithm is not accepted');
  }
  const candidates = selectVerificationKeys(options.keys, header.kid, alg);
  // jose checks the signature first (RFC 7515 §5.2), then the claims (RFC 7519 §7.2, §4.1: exp and
  // nbf with the leeway for clock skew, iss, aud, the required claims), so nothing reacts to forged
  // content. Each candidate key is tried in turn: a bad signature under one is not yet a failure.
  for (const jwk of candidates) {
    let verified: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      verified = await jwtVerify(token, await importVerificationKey(jwk, alg), {
        algorithms: [alg],
        currentDate: new Date(options.now * 1000),
        clockTolerance: tolerance,
        ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
        ...(options.audience === undefined ? {} : { audience: options.audience }),
        requiredClaims: [...(options.requireClaims ?? [])],
      });
    } catch (error) {
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) continue;
      throw fromJoseError(error);
    }
    const { payload } = verified;
    // RFC 7519 §4.1.3: a principal that does not find itself in a present `aud` MUST reject the JWT,
    // so a token carrying aud is refused when no audience is configured (jose lets it through).
    if (options.audience === undefined && payload.aud !== undefined) {
      fail('wrong-audience', 'the JWT is meant for another audience');
    }
    return { header: verified.protectedHeader as JwtHeader, payload: payload as JwtPayload };
  }
  fail('bad-signature', 'the JWT signature does not verify');
}

/** jose's errors (a closed list of codes) as ours; messages stay ours, so no token text leaks. */
function fromJoseError(error: unknown): CareLedgerError {
  if (error instanceof CareLedgerError) return error;
  if (error instanceof joseErrors.JWTExpired) return failure('expired', 'the JWT has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') {
      return failure('missing-claim', 'a required claim is missing', { claim: error.claim });
    }
    if (error.claim === 'nbf') return failure('not-yet-valid', 'the JWT is not yet valid');
    if (error.claim === 'iss') return failure('wrong-issuer', 'the JWT is from another issuer');
    if (error.claim === 'aud') return failure('wrong-audience', 'the JWT is meant for another audience');
    return failure('malformed', 'a JWT claim is invalid', { claim: error.claim });
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed || error instanceof joseErrors.JOSENotSupported) {
    return failure('unsupported-algorithm', 'the JWT algorithm is not accepted');
  }
  return failure('malformed', 'the JWT is malformed');
}

function selectVerificationKeys(keys: readonly Jwk[], kid: string | undefined, alg: JwtAlgorithm): Jwk[] {
  let candidates: readonly Jwk[];
  if (kid !== undefined) {
    // RFC 7515 §4.1.4: kid names the key. A match that cannot do `alg` is an algorithm-confusion
    // attempt (an ES256 header on an RSA key), not a missing key.
    const named = keys.filter((key) => isRecord(key) && key.kid === kid);
    if (named.length === 0) fail('unknown-key', 'no key has the JWT kid');
    candidates = named.filter((key) => isKeyUsableFor(key, alg, 'verify'));
    if (candidates.length === 0) fail('unsupported-algorithm', 'the JWT kid names a key of another type');
  } else {
    candidates = keys.filter((key) => isRecord(key) && isKeyUsableFor(key, alg, 'verify'));
  }
  // Only the public members are handed over, so a JWKS entry that wrongly carries `d` stays inert.
  const usable = candidates.map(publicMembers).filter(isUsablePublicKey);
  if (usable.length === 0) fail('unknown-key', 'no usable key for the JWT');
  return usable;
}

// Imported public keys by algorithm and key material (issue 16 item 2: importing the JWK again on every
// verification was a large part of checking a bearer token). Public keys only, so nothing secret is
// held; a small bound, since a verifier knows few keys; cleared whole when full.
const MAX_IMPORTED_KEYS = 256;
const importedKeys = new Map<string, Promise<Awaited<ReturnType<typeof importJWK>>>>();
const usableKeys = new Map<string, boolean>();

function importVerificationKey(jwk: Jwk, alg: JwtAlgorithm): ReturnType<typeof importJWK> {
  const id = `${alg}\u001f${JSON.stringify(joseJwk(jwk))}`;
  let key = importedKeys.get(id);
  if (key === undefined) {
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.clear();
    key = importJWK(joseJwk(jwk), alg);
    // A failed import is not remembered.
    key.catch(() => importedKeys.delete(id));
    importedKeys.set(id, key);
  }
  return key;
}

function isUsablePublicKey(jwk: Jwk): boolean {
  const id = JSON.stringify(jwk);
  const known = usableKeys.get(id);
  if (known !== undefined) return known;
  if (usableKeys.size >= MAX_IMPORTED_KEYS) usableKeys.clear();
  const usable = checkPublicKey(jwk);
  usableKeys.set(id, usable);
  return usable;
}

function checkPublicKey(jwk: Jwk): boolean {
  try {
    // Node checks that an EC point is on its curve; RSA keys under 2048 bits are refused.
    return isKeyStrongEnough(createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }));
  } catch {
    return false;
  }
}

/** The members jose imports: never `use`/`key_ops`/`alg` (already judged above), never `ext`. */
function joseJwk(jwk: Jwk): JWK {
  const { kty, crv, x, y, n, e, d, p, q, dp, dq, qi } = jwk;
  const out: Record<string, unknown> = { kty, crv, x, y, n, e, d, p, q, dp, dq, qi };
  for (const name of Object.keys(out)) if (out[name] === undefined) delete out[name];
  return out as JWK;
}

function algorithmForKey(jwk: Jwk): JwtAlgorithm | undefined {
  if (jwk.alg !== undefined) return isJwtAlgorithm(jwk.alg) ? jwk.alg : undefined;
  if (jwk.kty === 'RSA') return 'RS384';
  if (jwk.kty === 'EC') return jwk.crv === 'P-256' ? 'ES256' : jwk.crv === 'P-384' ? 'ES384' : undefined;
  return undefined;
}

function isKeyUsableFor(jwk: Jwk, alg: JwtAlgorithm, operation: 'sign' | 'verify'): boolean {
  const spec = ALGORITHMS[alg];
  if (jwk.kty !== spec.kty) return false;
  if (spec.crv !== undefined && jwk.crv !== spec.crv) return false;
  // RFC 7517 §4.4 alg, §4.2 use and §4.3 key_ops restrict what a key may be used for.
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes(operation))) {
    return false;
  }
  return true;
}

function isKeyStrongEnough(key: KeyObject): boolean {
  if (key.asymmetricKeyType !== 'rsa') return true;
  return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS;
}

function publicMembers(jwk: Jwk): Jwk {
  return jwk.kty === 'RSA'
    ? { kty: jwk.kty, n: jwk.n, e: jwk.e }
    : { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

function parseJsonObject(encoded: string): Record<string, unknown> | undefined {
  const bytes = decodeBase64url(encoded);
  if (bytes === undefined) return undefined;
  try {
    // RFC 7515 §5.2 steps 2-3 and RFC 7519 §7.2 step 10: UTF-8 JSON objects. JSON.parse keeps the
    // lexically last duplicate member, which RFC 7515 §5.2 allows.
    const value: unknown = JSON.parse(UTF8.decode(bytes));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

// RFC 7519 §4.1: iss, sub and jti are strings (StringOrURI); aud a string or array of strings;
// exp, nbf and iat NumericDates.
function checkRegisteredClaims(payload: Record<string, unknown>): void {
  for (const claim of ['iss', 'sub', 'jti'] as const) {
    if (payload[claim] !== undefined && typeof payload[claim] !== 'string') {
      malformed('a string claim has another type', claim);
    }
  }
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    const value = payload[claim];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) {
      malformed('a NumericDate claim is not a number', claim);
    }
  }
  const aud = payload.aud;
  if (
    aud !== undefined &&
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.every((value) => typeof value === 'string'))
  ) {
    malformed('aud is neither a string nor an array of strings', 'aud');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(message: string, claim?: string): never {
  fail('malformed', message, claim === undefined ? undefined : { claim });
}

function fail(reason: JwtFailureReason, message: string, extra?: Record<string, unknown>): never {
  throw failure(reason, message, extra);
}

function failure(
  reason: JwtFailureReason,
  message: string,
  extra?: Record<string, unknown>,
): CareLedgerError {
  return new CareLedgerError(
    reason === 'bad-signature' ? 'ERR_SIGNATURE_INVALID' : 'ERR_UNAUTHENTICATED',
    message,
    {
      details: { reason, ...extra },
    },
  );
}
