import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { HOTP, Secret } from 'otpauth';
import { CareLedgerError } from '../errors/index.js';
import { encodeBase32, parseBase32 } from './base32.js';

/**
 * Time-based one-time passwords (RFC 6238) for a second factor: HOTP (RFC 4226) over the number of
 * 30-second steps since the Unix epoch (RFC 6238 §4: X = 30, T0 = 0). The HOTP computation and the
 * constant-time comparison are the `otpauth` package's (docs/decisions/0009); this module keeps our
 * policy around them: secret sizes, the window, and refusing a step already used (RFC 6238 §5.2).
 */
export type TotpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

export interface TotpOptions {
  /** HMAC hash (RFC 6238 §1.2). Default SHA1, the only one most authenticator apps honour. */
  readonly algorithm?: TotpAlgorithm;
  /** Default 6. */
  readonly digits?: 6 | 8;
}

export interface EvaluateTotpOptions extends TotpOptions {
  /**
   * How many steps either side of the current one to accept, for clock drift and typing time
   * (RFC 6238 §5.2, §6). Default 1; at most 10.
   */
  readonly window?: number;
  /** The step of this user's last accepted code: that step and earlier ones are refused. */
  readonly lastUsedStep?: number;
}

/**
 * `step` is the time step the code belongs to. RFC 6238 §5.2: a verifier "MUST NOT accept the
 * second attempt of the OTP after the successful validation has been issued for the first OTP".
 * So the caller stores `step` with the user on success and passes it back as `lastUsedStep`; the
 * same code, or one from an earlier step, is then refused. The caller also throttles failed
 * attempts (RFC 4226 §7.3): six digits fall to a million guesses.
 */
export type TotpVerification = { readonly valid: true; readonly step: number } | { readonly valid: false };

export const TOTP_PERIOD_SECONDS = 30;
/** RFC 4226 §4 R6 recommends a 160-bit shared secret... */
const SECRET_SIZE = 20;
/** ...and requires at least 128 bits. */
const MIN_SECRET_SIZE = 16;
const MAX_WINDOW = 10;
const ALGORITHMS: Readonly<Record<TotpAlgorithm, true>> = { SHA1: true, SHA256: true, SHA512: true };

/** A new shared secret: 20 random bytes as unpadded base32, ready for createTotpUri. */
export function createTotpSecret(randomBytes: (size: number) => Uint8Array = nodeRandomBytes): string {
  const secret = randomBytes(SECRET_SIZE);
  if (secret.length !== SECRET_SIZE) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `randomBytes must return ${SECRET_SIZE} bytes`);
  }
  return encodeBase32(secret, { padding: false });
}

export interface TotpUriInput extends TotpOptions {
  readonly secret: string | Uint8Array;
  /** The service name shown in the authenticator app, e.g. "CareLedger". */
  readonly issuer: string;
  /** The user's account name at the issuer. */
  readonly account: string;
}

/**
 * An `otpauth://totp/` URI in Google Authenticator's Key Uri Format
 * (github.com/google/google-authenticator/wiki/Key-Uri-Format), usually shown as a QR code.
 */
export function createTotpUri(input: TotpUriInput): string {
  const secret = toSecretBytes(input.secret);
  const { algorithm, digits } = readOptions(input);
  for (const [field, value] of [
    ['issuer', input.issuer],
    ['account', input.account],
  ] as const) {
    // Key Uri Format, "Label": "Neither issuer nor account name may themselves contain a colon."
    if (typeof value !== 'string' || value.length === 0 || value.length > 256 || value.includes(':')) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `${field} must be 1 to 256 characters without ":"`, {
        details: { field },
      });
    }
  }
  const issuer = encodeURIComponent(input.issuer);
  // Key Uri Format, "Secret": base32 "with padding omitted"; spaces in names as %20, never "+".
  const params = [`secret=${encodeBase32(secret, { padding: false })}`, `issuer=${issuer}`];
  // Optional parameters only when they differ from the defaults: several apps ignore them, so a
  // non-default value is the case worth spelling out.
  if (algorithm !== 'SHA1') params.push(`algorithm=${algorithm}`);
  if (digits !== 6) params.push(`digits=${digits}`);
  // "@" may stay literal in a path segment (RFC 3986 §3.3), as in the Key Uri Format's own examples.
  const account = encodeURIComponent(input.account).replaceAll('%40', '@');
  return `otpauth://totp/${issuer}:${account}?${params.join('&')}`;
}

/** The code for the time step containing `at` (milliseconds since the Unix epoch). */
export function generateTotp(secret: Uint8Array | string, at: number, options: TotpOptions = {}): string {
  const { algorithm, digits } = readOptions(options);
  return generateHotp(toSecretBytes(secret), timeStep(at), algorithm, digits);
}

/**
 * Checks a code typed by a user against the steps around `at`. A malformed code is simply not
 * valid; a malformed secret, time or option throws ERR_INVALID_INPUT (those are ours, not the user's).
 */
export function evaluateTotp(
  code: string,
  secret: Uint8Array | string,
  at: number,
  options: EvaluateTotpOptions = {},
): TotpVerification {
  const { algorithm, digits } = readOptions(options);
  const key = toSecretBytes(secret);
  const current = timeStep(at);
  const window = options.window ?? 1;
  if (!Number.isSafeInteger(window) || window < 0 || window > MAX_WINDOW) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `window must be an integer from 0 to ${MAX_WINDOW}`, {
      details: { field: 'window' },
    });
  }
  const lastUsedStep = options.lastUsedStep ?? -1;
  if (!Number.isSafeInteger(lastUsedStep)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'lastUsedStep must be an integer', {
      details: { field: 'lastUsedStep' },
    });
  }
  if (typeof code !== 'string' || code.length !== digits || !/^[0-9]+$/.test(code)) return { valid: false };
  const secretKey = new Secret({ buffer: copyBuffer(key) });
  let matched = -1;
  // Every candidate step is checked (otpauth compares in constant time), so the response time does
  // not tell which step (if any) matched. Of two matching steps the later wins: storing it refuses more.
  for (let step = Math.max(0, current - window); step <= current + window; step++) {
    const delta = HOTP.validate({
      token: code,
      secret: secretKey,
      algorithm,
      digits,
      counter: step,
      window: 0,
    });
    if (delta === 0 && step > lastUsedStep) matched = step;
  }
  return matched >= 0 ? { valid: true, step: matched } : { valid: false };
}

/** RFC 4226 §5.3 (HMAC, dynamic truncation, modulo 10^digits), computed by otpauth. */
function generateHotp(key: Uint8Array, counter: number, algorithm: TotpAlgorithm, digits: number): string {
  return HOTP.generate({ secret: new Secret({ buffer: copyBuffer(key) }), algorithm, digits, counter });
}

function copyBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

/** RFC 6238 §4.2: T = floor((Current Unix time - T0) / X), with T0 = 0. */
function timeStep(at: number): number {
  if (!Number.isSafeInteger(at) || at < 0) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'time must be a non-negative integer of milliseconds', {
      details: { field: 'at' },
    });
  }
  return Math.floor(at / (TOTP_PERIOD_SECONDS * 1000));
}

function toSecretBytes(secret: Uint8Array | string): Uint8Array {
  const bytes = typeof secret === 'string' ? parseBase32(secret) : secret;
  if (!(bytes instanceof Uint8Array) || bytes.length < MIN_SECRET_SIZE) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `TOTP secret must be at least ${MIN_SECRET_SIZE} bytes`, {
      details: { field: 'secret' },
    });
  }
  return bytes;
}

function readOptions(options: TotpOptions): { algorithm: TotpAlgorithm; digits: 6 | 8 } {
  const algorithm = options.algorithm ?? 'SHA1';
  const digits = options.digits ?? 6;
  if (!Object.hasOwn(ALGORITHMS, algorithm)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'algorithm must be SHA1, SHA256 or SHA512', {
      details: { field: 'algorithm' },
    });
  }
  if (digits !== 6 && digits !== 8) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'digits must be 6 or 8', { details: { field: 'digits' } });
  }
  return { algorithm, digits };
}
