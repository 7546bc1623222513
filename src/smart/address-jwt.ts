/**
 * JWTs signed by a ledger identity: a secp256k1 key known only by its EVM address (a patient's key,
 * a member node's key). JWS `ES256K` (RFC 8812 §3.2: ECDSA over secp256k1 with SHA-256, signature
 * R ‖ S, 64 bytes). The verifier has no JWK, only the address: it recovers the public key from the
 * signature (SEC 1 §4.1.6), trying both recovery ids, and compares its address.
 *
 * Browser-safe: no `node:` imports, no Buffer, so the portal bundles it to sign in the browser.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { CareLedgerError } from '../errors/careledger-error.js';

/** Signs a 32-byte hash; returns the 64-byte compact signature R ‖ S with low S (or 65 with v). */
export type HashSigner = (hash: Uint8Array) => Promise<Uint8Array> | Uint8Array;

/** The closed set of `details.reason` values that `verifyAddressJwt` throws with. */
export const ADDRESS_JWT_FAILURE_REASONS = [
  'malformed',
  'unsupported-algorithm',
  'bad-signature',
  'wrong-signer',
  'wrong-audience',
  'expired',
  'not-yet-valid',
  'lifetime-too-long',
  'missing-claim',
] as const;
export type AddressJwtFailureReason = (typeof ADDRESS_JWT_FAILURE_REASONS)[number];

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function encodeBase64url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let c = 0; c < chars; c++) out += ALPHABET[(n >> (18 - 6 * c)) & 63];
  }
  return out;
}

/** Strict: only canonical unpadded base64url (RFC 4648 §5), so one byte string has one encoding. */
function decodeBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (const ch of text) {
    value = (value << 6) | ALPHABET.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The EVM address of an uncompressed secp256k1 public key: the last 20 bytes of Keccak-256(X ‖ Y). */
export function addressOfPublicKey(uncompressed: Uint8Array): string {
  return `0x${toHex(keccak_256(uncompressed.subarray(1)).subarray(12))}`;
}

/** The address of a raw 32-byte private key (lower-case hex). */
export function addressOfPrivateKey(privateKey: Uint8Array): string {
  return addressOfPublicKey(secp256k1.getPublicKey(privateKey, false));
}

/** A HashSigner over a raw private key (the browser, the CLI). */
export function createPrivateKeySigner(privateKey: Uint8Array): HashSigner {
  return (hash) => secp256k1.sign(hash, privateKey, { prehash: false, format: 'compact' });
}

/** Signs `claims` as a compact JWS, header `{alg: ES256K, typ: JWT, kid: <address>}`. */
export async function signAddressJwt(
  claims: Record<string, unknown>,
  address: string,
  sign: HashSigner,
): Promise<string> {
  const header = { alg: 'ES256K', typ: 'JWT', kid: address.toLowerCase() };
  const input = `${encodeBase64url(encoder.encode(JSON.stringify(header)))}.${encodeBase64url(
    encoder.encode(JSON.stringify(claims)),
  )}`;
  const signature = await sign(sha256(encoder.encode(input)));
  return `${input}.${encodeBase64url(signature.subarray(0, 64))}`;
}

function failure(reason: AddressJwtFailureReason, message: string): CareLedgerError {
  return new CareLedgerError('ERR_UNAUTHENTICATED', message, { details: { reason } });
}

export interface VerifyAddressJwtOptions {
  /** The audience this verifier is (the token endpoint URL). */
  readonly audience: string;
  /** Seconds since the epoch. */
  readonly now: number;
  /** Longest accepted exp − iat (RFC 7523 §3: a short-lived assertion). Default 300 s. */
  readonly maxLifetimeSeconds?: number;
  readonly clockToleranceSeconds?: number;
}

export interface VerifiedAddressJwt {
  /** The signer's address, lower-case hex; equal to `iss` and `sub`. */
  readonly address: string;
  readonly claims: Record<string, unknown>;
}

/** Recovers the signer of a 64-byte R ‖ S signature over `hash` whose address is `expected`. */
export function isSignedByAddress(signature: Uint8Array, hash: Uint8Array, expected: string): boolean {
  if (signature.length !== 64) return false;
  let parsed: ReturnType<typeof secp256k1.Signature.fromBytes>;
  try {
    parsed = secp256k1.Signature.fromBytes(signature, 'compact');
  } catch {
    return false;
  }
  // Low S only (as Ethereum since EIP-2): the other half of each pair is a second valid encoding.
  if (parsed.hasHighS()) return false;
  for (const bit of [0, 1]) {
    try {
      const key = parsed.addRecoveryBit(bit).recoverPublicKey(hash).toBytes(false);
      if (addressOfPublicKey(key) === expected.toLowerCase()) return true;
    } catch {
      // this recovery id names no point; try the other
    }
  }
  return false;
}

/**
 * Verifies an address-signed JWT used as an RFC 7523 assertion: ES256K, `iss` = `sub` = the signing
 * address, `aud` this endpoint, `exp` in the future and at most `maxLifetimeSeconds` after `iat`,
 * and a `jti` (the caller checks it was not seen before). Throws ERR_UNAUTHENTICATED with a reason.
 */
export function verifyAddressJwt(token: string, options: VerifyAddressJwtOptions): VerifiedAddressJwt {
  const parts = token.split('.');
  if (parts.length !== 3) throw failure('malformed', 'the assertion is not a compact JWS');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(decoder.decode(decodeBase64url(headerPart) ?? new Uint8Array([0xff])));
    claims = JSON.parse(decoder.decode(decodeBase64url(payloadPart) ?? new Uint8Array([0xff])));
  } catch {
    throw failure('malformed', 'the assertion header or claims are not base64url JSON');
  }
  if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null) {
    throw failure('malformed', 'the assertion header or claims are not JSON objects');
  }
  if (header.alg !== 'ES256K') throw failure('unsupported-algorithm', 'the assertion must be signed ES256K');
  const signature = decodeBase64url(signaturePart);
  if (signature === undefined) throw failure('malformed', 'the signature is not base64url');
  const { iss, sub, aud, exp, iat, jti } = claims;
  if (typeof iss !== 'string' || typeof sub !== 'string' || typeof jti !== 'string' || jti === '') {
    throw failure('missing-claim', 'the assertion needs iss, sub and jti');
  }
  if (typeof exp !== 'number' || typeof iat !== 'number')
    throw failure('missing-claim', 'the assertion needs exp and iat');
  if (!/^0x[0-9a-fA-F]{40}$/.test(iss) || iss.toLowerCase() !== sub.toLowerCase()) {
    throw failure('wrong-signer', 'iss and sub must be the same ledger address');
  }
  const hash = sha256(encoder.encode(`${headerPart}.${payloadPart}`));
  if (!isSignedByAddress(signature, hash, iss)) {
    throw failure('bad-signature', 'the assertion is not signed by the key of its iss');
  }
  const audiences = Array.isArray(aud) ? aud : [aud];
  if (!audiences.includes(options.audience))
    throw failure('wrong-audience', 'the assertion is for another audience');
  const tolerance = options.clockToleranceSeconds ?? 30;
  if (exp <= options.now - tolerance) throw failure('expired', 'the assertion has expired');
  if (iat > options.now + tolerance) throw failure('not-yet-valid', 'the assertion is issued in the future');
  if (exp - iat > (options.maxLifetimeSeconds ?? 300)) {
    throw failure('lifetime-too-long', 'the assertion lives longer than allowed');
  }
  return { address: iss.toLowerCase(), claims };
}

export interface PatientAssertionOptions {
  /** The token endpoint of the member the assertion is for. */
  readonly audience: string;
  readonly nowSeconds: number;
  /** A fresh random id (the member refuses a replay). */
  readonly jti: string;
  readonly lifetimeSeconds?: number;
}

/**
 * A patient's RFC 7523 JWT bearer assertion, signed with the patient's ledger key: "I, the holder of
 * this ledger address, ask this member for my own records". The member looks up its Patient with the
 * ledger-address identifier and issues a token limited to that patient.
 */
export function createPatientAssertion(
  privateKey: Uint8Array,
  options: PatientAssertionOptions,
): Promise<string> {
  const address = addressOfPrivateKey(privateKey);
  return signAddressJwt(
    {
      iss: address,
      sub: address,
      aud: options.audience,
      iat: options.nowSeconds,
      exp: options.nowSeconds + (options.lifetimeSeconds ?? 120),
      jti: options.jti,
    },
    address,
    createPrivateKeySigner(privateKey),
  );
}
