/**
 * Proof Key for Code Exchange (RFC 7636) as SMART App Launch 2.x requires it: S256 only. SMART 2.x
 * ("Considerations for PKCE") says servers SHALL support S256 and SHALL NOT support `plain`, which
 * would hand the verifier to anyone who sees the authorization request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';
import { decodeBase64url } from './base64url.js';

export const PKCE_METHODS = ['S256'] as const;
export type PkceMethod = (typeof PKCE_METHODS)[number];

// RFC 7636 §4.1: code-verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~".
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.2: S256 challenge = BASE64URL(SHA256(ASCII(code_verifier))). */
export function createPkceChallenge(verifier: string): string {
  checkVerifier(verifier);
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/**
 * Checks the `code_challenge` and `code_challenge_method` of an authorization request (RFC 7636 §4.3)
 * before they are stored. SMART 2.x makes PKCE mandatory, so a missing method is refused rather than
 * defaulting to `plain` as RFC 7636 §4.3 would.
 */
export function parsePkceChallenge(
  challenge: unknown,
  method: unknown,
): { challenge: string; method: PkceMethod } {
  checkMethod(method);
  checkChallenge(challenge);
  return { challenge, method };
}

/**
 * RFC 7636 §4.6: the token request's `code_verifier` must hash to the stored challenge. Throws
 * `ERR_INVALID_INPUT`: §4.6 answers a mismatch with `invalid_grant`, an HTTP 400 (RFC 6749 §5.2).
 */
export function verifyPkce(verifier: unknown, challenge: string, method: string): void {
  checkMethod(method);
  checkChallenge(challenge);
  checkVerifier(verifier);
  const expected = Buffer.from(createPkceChallenge(verifier), 'ascii');
  // Both are 43 ASCII characters here, so timingSafeEqual's equal-length precondition holds.
  if (!timingSafeEqual(expected, Buffer.from(challenge, 'ascii'))) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the PKCE code verifier does not match the challenge', {
      details: { reason: 'pkce-mismatch' },
    });
  }
}

function checkVerifier(verifier: unknown): asserts verifier is string {
  if (typeof verifier !== 'string' || !VERIFIER.test(verifier)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a PKCE code verifier is 43-128 unreserved characters', {
      details: { reason: 'invalid-verifier' },
    });
  }
}

function checkChallenge(challenge: unknown): asserts challenge is string {
  // An S256 challenge is the unpadded base64url of a 32-byte digest: exactly 43 characters.
  const digest = typeof challenge === 'string' ? decodeBase64url(challenge) : undefined;
  if (digest?.length !== 32) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      'a PKCE S256 code challenge is a base64url SHA-256 digest',
      {
        details: { reason: 'invalid-challenge' },
      },
    );
  }
}

function checkMethod(method: unknown): asserts method is PkceMethod {
  if (method !== 'S256') {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'only the S256 PKCE method is supported', {
      details: { reason: 'unsupported-method' },
    });
  }
}
