/**
 * A member's signature on a FHIR document Bundle (R4 §2.24.0.1 Signature, `Bundle.signature`), made
 * with the member's ledger key: a JWS (RFC 7515) `ES256K` (RFC 8812 §3.2: ECDSA over secp256k1 with
 * SHA-256, signature R ‖ S, 64 bytes, low S) with a detached payload (RFC 7515 Appendix F).
 *
 *   payload        = UTF-8 of canonicalJson(bundle without `signature`)   (src/fhir/canonical-json.ts)
 *   header         = {"alg":"ES256K","kid":"<EIP-55 checksummed ledger address>"}
 *   signing input  = BASE64URL(header) "." BASE64URL(payload)
 *   JWS (compact)  = BASE64URL(header) ".." BASE64URL(R ‖ S)
 *   Bundle.signature.data = base64 (RFC 4648 §4) of the ASCII JWS
 *
 * A verifier has no public key, only the address: it recovers the key from the signature (SEC 1
 * §4.1.6) with both recovery ids and compares its address with `kid`, which must also be the
 * ledger-address identifier of the Organization that `signature.who` names.
 *
 * Browser-safe: no `node:` imports and no Buffer, so a portal can verify a downloaded summary.
 */
import type { Bundle, BundleEntry, Organization, Signature } from '@medplum/fhirtypes';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, getAddress, type Hex, hexToBytes, isAddress } from 'viem';
import { LEDGER_ADDRESS_SYSTEM } from '../../access/patient-ledger-address.js';
import { CareLedgerError } from '../../errors/careledger-error.js';
import { isSignedByAddress } from '../../smart/address-jwt.js';
import { canonicalJson } from '../canonical-json.js';

/** ASTM E1762-95 (2013) signature type "Author's Signature" (R4 valueset signature-type). */
export const AUTHOR_SIGNATURE_TYPE = {
  system: 'urn:iso-astm:E1762-95:2013',
  code: '1.2.840.10065.1.12.1.1',
  display: "Author's Signature",
} as const;

export const SIGNATURE_FORMAT = 'application/jose';
export const SIGNATURE_TARGET_FORMAT = 'application/fhir+json';

/**
 * Signs a 32-byte digest as is (no EIP-191 prefix) with the member's ledger key and answers the 65-byte
 * signature R ‖ S ‖ v as hex. A viem `PrivateKeyAccount` (the node's `loadOrCreateLedgerKey`) is one.
 */
export interface DocumentSigner {
  readonly address: string;
  sign(parameters: { hash: Hex }): Promise<Hex>;
}

/** The closed set of `details.reason` values that {@link verifyDocumentSignature} throws with. */
export const DOCUMENT_SIGNATURE_FAILURE_REASONS = [
  /** No `Bundle.signature`, or one without `data`. */
  'missing',
  /** Not application/jose over application/fhir+json, or not an Author's Signature. */
  'unsupported-format',
  /** `data` is not base64 of a compact JWS with a detached payload, or the header is unusable. */
  'malformed',
  'unsupported-algorithm',
  /** `kid` is not the ledger address of the Organization in `signature.who`, or not the expected one. */
  'signer-mismatch',
  /** The signature is not by `kid` over this Bundle: the document was changed, or another key signed. */
  'bad-signature',
  /** Signed by `kid`, but `isMember` says it is not an active consortium member. */
  'not-member',
] as const;
export type DocumentSignatureFailureReason = (typeof DOCUMENT_SIGNATURE_FAILURE_REASONS)[number];

export interface VerifyDocumentSignatureOptions {
  /** Require an active consortium member (from the ledger index or `careledger chain status`). */
  readonly isMember?: (address: string) => boolean | Promise<boolean>;
  /** Require this signer (any case). */
  readonly expectedSigner?: string;
}

export interface VerifiedDocumentSignature {
  /** EIP-55 checksummed ledger address of the signer. */
  readonly signer: string;
  /** `Signature.when` as written by the signer (not covered by the signature; `Bundle.timestamp` is). */
  readonly when: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function failure(reason: DocumentSignatureFailureReason, message: string): CareLedgerError {
  return new CareLedgerError('ERR_SIGNATURE_INVALID', message, { details: { reason } });
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  // Chunks keep String.fromCharCode's argument list short for large documents.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function encodeBase64url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** Strict RFC 4648 decoding (§4 base64 padded, or §5 base64url unpadded); undefined if not canonical. */
function decode(text: string, alphabet: 'base64' | 'base64url'): Uint8Array | undefined {
  const pattern =
    alphabet === 'base64'
      ? /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
      : /^[A-Za-z0-9_-]*$/;
  if (!pattern.test(text) || (alphabet === 'base64url' && text.length % 4 === 1)) return undefined;
  const standard = alphabet === 'base64' ? text : text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(standard.padEnd(Math.ceil(standard.length / 4) * 4, '='));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  const canonical = alphabet === 'base64' ? encodeBase64(bytes) : encodeBase64url(bytes);
  return canonical === text ? bytes : undefined;
}

/** The signing input over the Bundle without its signature (RFC 7515 §5.1 step 8). */
function signingInput(bundle: Bundle, encodedHeader: string): Uint8Array {
  const { signature: _, ...unsigned } = bundle;
  return encoder.encode(`${encodedHeader}.${encodeBase64url(encoder.encode(canonicalJson(unsigned)))}`);
}

/** The Organization entry whose ledger-address identifier is `address` (any case). */
function organizationEntry(bundle: Bundle, address: string): BundleEntry<Organization> | undefined {
  return (bundle.entry ?? []).find(
    (entry): entry is BundleEntry<Organization> =>
      entry.resource?.resourceType === 'Organization' &&
      (entry.resource.identifier ?? []).some(
        (i) => i.system === LEDGER_ADDRESS_SYSTEM && i.value?.toLowerCase() === address.toLowerCase(),
      ),
  );
}

/**
 * Signs a document Bundle as `signer` (the member): returns a copy with `Bundle.signature` set; an
 * existing signature is replaced. The Bundle must hold the signer's Organization (ledger-address
 * identifier = `signer.address`), which `signature.who` references. Throws ERR_INVALID_INPUT without
 * one, and ERR_CONFIG if the signer's key is not that of its address.
 */
export async function signDocument(
  bundle: Bundle,
  signer: DocumentSigner,
  options: { readonly now?: () => Date } = {},
): Promise<Bundle> {
  if (!isAddress(signer.address, { strict: false })) {
    throw new CareLedgerError('ERR_CONFIG', 'the document signer has no valid ledger address');
  }
  const address = getAddress(signer.address);
  const organization = organizationEntry(bundle, address);
  if (organization?.fullUrl === undefined) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      "the document has no entry for the signer's Organization",
      {
        details: { reason: 'no-signer-organization' },
      },
    );
  }
  const encodedHeader = encodeBase64url(encoder.encode(JSON.stringify({ alg: 'ES256K', kid: address })));
  const hash = sha256(signingInput(bundle, encodedHeader));
  const rsv = hexToBytes(await signer.sign({ hash: bytesToHex(hash) }));
  const rs = rsv.subarray(0, 64);
  // A signer holding another key than its address would sign documents nobody can verify.
  if (rsv.length < 64 || !isSignedByAddress(rs, hash, address)) {
    throw new CareLedgerError('ERR_CONFIG', "the document signer's key does not match its ledger address");
  }
  const jws = `${encodedHeader}..${encodeBase64url(rs)}`;
  const signature: Signature = {
    type: [{ ...AUTHOR_SIGNATURE_TYPE }],
    when: (options.now?.() ?? new Date()).toISOString(),
    who: {
      reference: organization.fullUrl,
      identifier: { system: LEDGER_ADDRESS_SYSTEM, value: address },
    },
    targetFormat: SIGNATURE_TARGET_FORMAT,
    sigFormat: SIGNATURE_FORMAT,
    data: encodeBase64(encoder.encode(jws)),
  };
  return { ...bundle, signature };
}

/**
 * Verifies `Bundle.signature` as made by {@link signDocument}: returns the signer, or throws
 * CareLedgerError('ERR_SIGNATURE_INVALID') whose `details.reason` is one of
 * {@link DOCUMENT_SIGNATURE_FAILURE_REASONS}. Messages name no content of the document.
 */
export async function verifyDocumentSignature(
  bundle: Bundle,
  options: VerifyDocumentSignatureOptions = {},
): Promise<VerifiedDocumentSignature> {
  const signature = bundle?.signature;
  if (signature?.data === undefined) throw failure('missing', 'the document is not signed');
  const authorSignature = (signature.type ?? []).some(
    (c) => c.system === AUTHOR_SIGNATURE_TYPE.system && c.code === AUTHOR_SIGNATURE_TYPE.code,
  );
  if (
    !authorSignature ||
    signature.sigFormat !== SIGNATURE_FORMAT ||
    (signature.targetFormat !== undefined && signature.targetFormat !== SIGNATURE_TARGET_FORMAT)
  ) {
    throw failure(
      'unsupported-format',
      "only an Author's Signature as application/jose over FHIR JSON is supported",
    );
  }
  const jwsBytes = decode(signature.data, 'base64');
  let jws: string;
  try {
    if (jwsBytes === undefined) throw new Error('not base64');
    jws = decoder.decode(jwsBytes);
  } catch {
    throw failure('malformed', 'the signature data is not base64 of a JWS');
  }
  const parts = jws.split('.');
  if (parts.length !== 3 || parts[1] !== '') {
    throw failure('malformed', 'the signature is not a compact JWS with a detached payload');
  }
  const [encodedHeader, , encodedSignature] = parts as [string, string, string];
  let header: unknown;
  try {
    header = JSON.parse(decoder.decode(decode(encodedHeader, 'base64url') ?? new Uint8Array([0xff])));
  } catch {
    throw failure('malformed', 'the JWS header is not base64url JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw failure('malformed', 'the JWS header is not a JSON object');
  }
  const { alg, kid, crit } = header as Record<string, unknown>;
  if (alg !== 'ES256K') throw failure('unsupported-algorithm', 'the document must be signed ES256K');
  // RFC 7515 §4.1.11: extensions the verifier does not understand must be refused; we understand none.
  if (crit !== undefined) throw failure('malformed', 'the JWS header has critical extensions');
  if (typeof kid !== 'string' || !isAddress(kid, { strict: false })) {
    throw failure('malformed', 'the JWS kid is not a ledger address');
  }
  const signer = getAddress(kid);
  const rs = decode(encodedSignature, 'base64url');
  if (rs === undefined || rs.length !== 64) throw failure('malformed', 'the JWS signature is not R ‖ S');

  const whoUrl = signature.who?.reference;
  const organization = organizationEntry(bundle, signer);
  const whoIdentifier = signature.who?.identifier;
  if (
    whoUrl === undefined ||
    organization?.fullUrl !== whoUrl ||
    (whoIdentifier !== undefined &&
      (whoIdentifier.system !== LEDGER_ADDRESS_SYSTEM ||
        whoIdentifier.value?.toLowerCase() !== signer.toLowerCase()))
  ) {
    throw failure('signer-mismatch', "the signing key is not the ledger address of the document's signer");
  }
  if (options.expectedSigner !== undefined && options.expectedSigner.toLowerCase() !== signer.toLowerCase()) {
    throw failure('signer-mismatch', 'the document is signed by another member than expected');
  }
  if (!isSignedByAddress(rs, sha256(signingInput(bundle, encodedHeader)), signer)) {
    throw failure('bad-signature', 'the signature does not match this document and its signer');
  }
  if (options.isMember !== undefined && !(await options.isMember(signer))) {
    throw failure('not-member', 'the signer is not an active consortium member');
  }
  return { signer, when: signature.when ?? '' };
}
