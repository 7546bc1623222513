/**
 * Securing licence credentials with VC-JOSE-COSE (W3C Recommendation, 2025) as `application/vc+jwt`:
 * the credential itself is the JWS payload (no `vc` claim wrapper), the protected header carries
 * alg ES256, typ `vc+jwt`, cty `vc` and the issuer's key id. Verification admits only the issuers
 * (and keys) the caller passes, checks validity at an injected time, both status bits and,
 * optionally, the subject. Every refusal is a CareLedgerError whose details.reason is one of
 * CREDENTIAL_REFUSAL_REASONS.
 */
import { CompactSign, compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { CareLedgerError, type ErrorCode } from '../errors/index.js';
import { getStatusBit } from './bitstring-status-list.js';
import {
  type PractitionerLicenseCredential,
  parseCredential,
  type StatusPurpose,
  sameSubject,
} from './practitioner-credential.js';

export const VC_JWT_MEDIA_TYPE = 'application/vc+jwt';

export const CREDENTIAL_REFUSAL_REASONS = [
  'bad-signature',
  'issuer-not-admitted',
  'not-yet-valid',
  'expired',
  'revoked',
  'suspended',
  'wrong-subject',
  'malformed',
  // the status list the credential names was not supplied: refused rather than assumed good
  'status-unavailable',
] as const;
export type CredentialRefusalReason = (typeof CREDENTIAL_REFUSAL_REASONS)[number];

const CODE_FOR_REASON: Record<CredentialRefusalReason, ErrorCode> = {
  'bad-signature': 'ERR_SIGNATURE_INVALID',
  'issuer-not-admitted': 'ERR_FORBIDDEN',
  'not-yet-valid': 'ERR_FORBIDDEN',
  expired: 'ERR_FORBIDDEN',
  revoked: 'ERR_FORBIDDEN',
  suspended: 'ERR_FORBIDDEN',
  'wrong-subject': 'ERR_FORBIDDEN',
  malformed: 'ERR_INVALID_INPUT',
  'status-unavailable': 'ERR_PRECONDITION_FAILED',
};

function refuse(reason: CredentialRefusalReason, message: string, cause?: unknown): CareLedgerError {
  return new CareLedgerError(CODE_FOR_REASON[reason], `credential refused: ${message}`, {
    details: { reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** An issuer key: a public ES256 JWK whose `kid` names it in the JWS header. */
export type IssuerKey = JWK & { readonly kid: string };

/** A decoded status list as the verifier holds it (from the ledger or a verified list credential). */
export interface StatusListSnapshot {
  readonly statusPurpose: StatusPurpose;
  readonly bitstring: Uint8Array;
}

export interface IssueCredentialOptions {
  /** The issuer's private ES256 JWK (with `d`). */
  readonly privateKey: JWK;
  readonly kid: string;
}

/** Signs the credential (checked by parseCredential first) as a compact `vc+jwt` JWS. */
export async function issueCredential(
  credential: PractitionerLicenseCredential,
  options: IssueCredentialOptions,
): Promise<string> {
  const checked = parseCredential(credential);
  if (options.privateKey.d === undefined) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'issuing needs the private key (JWK with d)');
  }
  const key = await importJWK(options.privateKey, 'ES256');
  return new CompactSign(new TextEncoder().encode(JSON.stringify(checked)))
    .setProtectedHeader({ alg: 'ES256', typ: 'vc+jwt', cty: 'vc', kid: options.kid })
    .sign(key);
}

function decodeJson(segment: string | undefined): unknown {
  if (segment === undefined || !/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Reads a `vc+jwt` without checking its signature (to display it, or find its issuer). */
export function decodeCredentialJwt(jwt: string): {
  header: { alg?: string; typ?: string; cty?: string; kid?: string };
  credential: PractitionerLicenseCredential;
} {
  if (typeof jwt !== 'string' || jwt.split('.').length !== 3) throw refuse('malformed', 'not a compact JWS');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jwt);
  } catch (cause) {
    throw refuse('malformed', 'the protected header is not JSON', cause);
  }
  if (
    header.alg !== 'ES256' ||
    header.typ !== 'vc+jwt' ||
    (header.cty !== undefined && header.cty !== 'vc')
  ) {
    throw refuse('malformed', 'the header must say alg ES256, typ vc+jwt, cty vc');
  }
  if (typeof header.kid !== 'string' || header.kid.length === 0)
    throw refuse('malformed', 'the header has no kid');
  const payload = decodeJson(jwt.split('.')[1]);
  if (payload === undefined) throw refuse('malformed', 'the payload is not base64url JSON');
  let credential: PractitionerLicenseCredential;
  try {
    credential = parseCredential(payload);
  } catch (cause) {
    throw refuse('malformed', (cause as Error).message.replace(/^malformed licence credential: /, ''), cause);
  }
  return { header: header as { alg: string; typ: string; cty?: string; kid: string }, credential };
}

export interface VerifyCredentialOptions {
  /** Issuer id → its public keys. Only the issuers the consortium admitted belong here. */
  readonly issuerKeys: ReadonlyMap<string, readonly IssuerKey[]>;
  readonly now: Date;
  /** statusListCredential URL → the decoded list. A list the credential names but absent here refuses it. */
  readonly statusLists: ReadonlyMap<string, StatusListSnapshot>;
  /** The did:pkh the credential must be about (the practitioner presenting it). */
  readonly expectedSubject?: string;
}

/**
 * Verifies a licence credential. Order: shape, admitted issuer, signature by one of its keys,
 * validity window, subject, revocation, suspension. Returns the credential when all hold.
 */
export async function verifyCredential(
  jwt: string,
  options: VerifyCredentialOptions,
): Promise<PractitionerLicenseCredential> {
  const { header, credential } = decodeCredentialJwt(jwt);
  const keys = options.issuerKeys.get(credential.issuer);
  if (keys === undefined || keys.length === 0) {
    throw refuse('issuer-not-admitted', 'the issuer is not an admitted licensing board');
  }
  const jwk = keys.find((k) => k.kid === header.kid);
  if (jwk === undefined) throw refuse('bad-signature', "the kid is not one of the issuer's keys");
  try {
    const key = await importJWK({ ...jwk, d: undefined }, 'ES256');
    await compactVerify(jwt, key, { algorithms: ['ES256'] });
  } catch (cause) {
    // A failed check, or an issuer key that is not a P-256 public key: either way nothing verifies.
    throw refuse('bad-signature', 'the signature does not verify', cause);
  }
  const now = options.now.getTime();
  if (now < Date.parse(credential.validFrom)) throw refuse('not-yet-valid', 'validFrom is in the future');
  if (credential.validUntil !== undefined && now >= Date.parse(credential.validUntil)) {
    throw refuse('expired', 'validUntil has passed');
  }
  if (
    options.expectedSubject !== undefined &&
    !sameSubject(credential.credentialSubject.id, options.expectedSubject)
  ) {
    throw refuse('wrong-subject', 'the credential is about another practitioner');
  }
  // Revocation is checked before suspension: a revoked licence reports revoked even if also suspended.
  for (const purpose of ['revocation', 'suspension'] as const) {
    for (const entry of credential.credentialStatus.filter((s) => s.statusPurpose === purpose)) {
      const list = options.statusLists.get(entry.statusListCredential);
      if (list === undefined)
        throw refuse('status-unavailable', `the ${purpose} status list was not supplied`);
      if (list.statusPurpose !== purpose)
        throw refuse('malformed', `the status list is not a ${purpose} list`);
      const index = Number(entry.statusListIndex);
      if (index >= list.bitstring.length * 8)
        throw refuse('malformed', 'statusListIndex is beyond the status list');
      if (getStatusBit(list.bitstring, index)) {
        throw refuse(
          purpose === 'revocation' ? 'revoked' : 'suspended',
          `the licence is ${purpose === 'revocation' ? 'revoked' : 'suspended'}`,
        );
      }
    }
  }
  return credential;
}
