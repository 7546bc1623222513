import { type Address, getAddress, type Hex, isAddress, isHex, recoverTypedDataAddress } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import {
  ALL_DATA_CATEGORIES,
  ALL_PURPOSES_OF_USE,
  encodeCategories,
  encodePurposes,
} from '../ledger/codes.js';
import {
  type ConsentDelegation,
  type ConsentDomain,
  type ConsentGrant,
  type ConsentRevoke,
  computeDelegationId,
  computeGrantId,
  createDelegateKeyTypedData,
  createDelegationTypedData,
  createGrantTypedData,
  createRevokeTypedData,
} from '../ledger/eip712.js';

const UINT64_MAX = 2n ** 64n - 1n;
const KNOWN_CATEGORY_BITS = encodeCategories(ALL_DATA_CATEGORIES);
const KNOWN_PURPOSE_BITS = encodePurposes(ALL_PURPOSES_OF_USE);

function invalid(reason: string, field?: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', reason, { details: field === undefined ? {} : { field } });
}

function parseAddress(value: unknown, field: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false }))
    throw invalid(`${field} is not an address`, field);
  return getAddress(value);
}

/** Accepts a decimal string, a 0x hex string or a safe integer, as JSON carries uint256 values. */
function parseUint(value: unknown, field: string, max = 2n ** 256n - 1n): bigint {
  let parsed: bigint;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) parsed = BigInt(value);
  else if (typeof value === 'string' && /^(0|[1-9][0-9]{0,77}|0x[0-9a-fA-F]{1,64})$/.test(value))
    parsed = BigInt(value);
  else throw invalid(`${field} must be a non-negative integer`, field);
  if (parsed > max) throw invalid(`${field} is out of range`, field);
  return parsed;
}

/** The salt of a grant's terms: 32 bytes, not all zero (a zero salt would make the commitment guessable). */
function parseSalt(value: unknown, field: string): Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value) || /^0x0{64}$/.test(value)) {
    throw invalid(`${field} must be 32 random bytes as hex (0x + 64 hex digits)`, field);
  }
  return value.toLowerCase() as Hex;
}

function parseSignature(value: unknown): Hex {
  if (typeof value !== 'string' || !isHex(value) || value.length !== 132) {
    throw invalid('signature must be a 65-byte hex string', 'signature');
  }
  return value;
}

function asObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${field} must be an object`, field);
  return value as Record<string, unknown>;
}

export interface SignedGrant {
  readonly grant: ConsentGrant;
  readonly signature: Hex;
  readonly grantId: Hex;
}

export interface SignedRevoke {
  readonly revoke: ConsentRevoke;
  readonly signature: Hex;
}

/**
 * Whether `signer` may sign consent for `patient` now (a proxy the patient appointed, or a guardian a
 * member attested, on the ledger: ConsentRegistry.isDelegate). Without it only the patient may sign.
 */
export type IsDelegate = (patient: Address, signer: Address) => Promise<boolean>;

/**
 * Parses and checks a patient-signed grant (its full terms with their salt: the opening of its
 * on-chain commitment) before anything is sent to the chain or stored: well-formed fields, a validity
 * window that is not empty, only known category and purpose bits, and a signature that recovers to
 * the patient. Throws ERR_INVALID_INPUT or ERR_SIGNATURE_INVALID naming the reason.
 */
export async function parseSignedGrant(
  body: unknown,
  domain: ConsentDomain,
  options: { isDelegate?: IsDelegate } = {},
): Promise<SignedGrant> {
  const root = asObject(body, 'body');
  const grant = parseGrantFields(asObject(root.grant, 'grant'));
  const signature = parseSignature(root.signature);
  await verifySigner(createGrantTypedData(domain, grant), signature, grant.patient, options.isDelegate);
  return { grant, signature, grantId: computeGrantId(domain, grant) };
}

function parseGrantFields(g: Record<string, unknown>): ConsentGrant {
  const grant: ConsentGrant = {
    patient: parseAddress(g.patient, 'grant.patient'),
    grantee: parseAddress(g.grantee, 'grant.grantee'),
    categories: parseUint(g.categories, 'grant.categories'),
    purposes: parseUint(g.purposes, 'grant.purposes'),
    salt: parseSalt(g.salt, 'grant.salt'),
    notBefore: parseUint(g.notBefore, 'grant.notBefore', UINT64_MAX),
    notAfter: parseUint(g.notAfter, 'grant.notAfter', UINT64_MAX),
    nonce: parseUint(g.nonce, 'grant.nonce'),
  };
  if (grant.notAfter <= grant.notBefore)
    throw invalid('notAfter must be later than notBefore', 'grant.notAfter');
  if (grant.categories === 0n)
    throw invalid('a grant must name at least one data category', 'grant.categories');
  if ((grant.categories & ~KNOWN_CATEGORY_BITS) !== 0n)
    throw invalid('unknown data category bits', 'grant.categories');
  if (grant.purposes === 0n) throw invalid('a grant must name at least one purpose of use', 'grant.purposes');
  if ((grant.purposes & ~KNOWN_PURPOSE_BITS) !== 0n)
    throw invalid('unknown purpose of use bits', 'grant.purposes');
  if (grant.grantee === grant.patient) throw invalid('a patient cannot grant to themselves', 'grant.grantee');
  return grant;
}

/**
 * Parses an opening delivered by another member (`{ grantId, grant, signature }`): a signed grant, as
 * parseSignedGrant checks it, whose terms must hash to the commitment of the grant it names. A wrong
 * salt or term gives another grant id (and a signature that no longer recovers to the patient), so a
 * forged opening is refused: ERR_INVALID_INPUT with reason `opening-mismatch`, or ERR_SIGNATURE_INVALID.
 */
export async function parseConsentOpening(
  body: unknown,
  domain: ConsentDomain,
  options: { isDelegate?: IsDelegate } = {},
): Promise<SignedGrant> {
  const root = asObject(body, 'body');
  const claimed = root.grantId;
  if (typeof claimed !== 'string' || !isHex(claimed) || claimed.length !== 66) {
    throw invalid('grantId must be a 32-byte hex string', 'grantId');
  }
  const digest = computeGrantId(domain, parseGrantFields(asObject(root.grant, 'grant')));
  if (digest.toLowerCase() !== claimed.toLowerCase()) {
    throw new CareLedgerError('ERR_INVALID_INPUT', "the terms do not open the grant's commitment", {
      details: { field: 'grant', reason: 'opening-mismatch' },
    });
  }
  return parseSignedGrant(root, domain, options);
}

export async function parseSignedRevoke(
  body: unknown,
  domain: ConsentDomain,
  options: { isDelegate?: IsDelegate } = {},
): Promise<SignedRevoke> {
  const root = asObject(body, 'body');
  const r = asObject(root.revoke, 'revoke');
  if (typeof r.grantId !== 'string' || !isHex(r.grantId) || r.grantId.length !== 66) {
    throw invalid('revoke.grantId must be a 32-byte hex string', 'revoke.grantId');
  }
  const revoke: ConsentRevoke = {
    patient: parseAddress(r.patient, 'revoke.patient'),
    grantId: r.grantId,
    nonce: parseUint(r.nonce, 'revoke.nonce'),
  };
  const signature = parseSignature(root.signature);
  await verifySigner(createRevokeTypedData(domain, revoke), signature, revoke.patient, options.isDelegate);
  return { revoke, signature };
}

export interface SignedDelegation {
  readonly delegation: ConsentDelegation;
  readonly signature: Hex;
  /** The delegate key's DelegateKey(patient, delegate) acceptance (decision 0021). */
  readonly delegateSignature: Hex;
  readonly delegationId: Hex;
}

/**
 * Parses a patient-signed appointment of a healthcare proxy (`{ delegation, signature,
 * delegateSignature }`): only the patient may sign it, never a delegate, and the delegate key signs its
 * acceptance of this one ward (decision 0021). Throws ERR_INVALID_INPUT or ERR_SIGNATURE_INVALID.
 */
export async function parseSignedDelegation(body: unknown, domain: ConsentDomain): Promise<SignedDelegation> {
  const root = asObject(body, 'body');
  const d = asObject(root.delegation, 'delegation');
  const delegation: ConsentDelegation = {
    patient: parseAddress(d.patient, 'delegation.patient'),
    delegate: parseAddress(d.delegate, 'delegation.delegate'),
    notBefore: parseUint(d.notBefore, 'delegation.notBefore', UINT64_MAX),
    notAfter: parseUint(d.notAfter, 'delegation.notAfter', UINT64_MAX),
    nonce: parseUint(d.nonce, 'delegation.nonce'),
  };
  if (delegation.notAfter <= delegation.notBefore)
    throw invalid('notAfter must be later than notBefore', 'delegation.notAfter');
  if (delegation.delegate === delegation.patient)
    throw invalid('a patient cannot be their own delegate', 'delegation.delegate');
  const signature = parseSignature(root.signature);
  await verifySigner(createDelegationTypedData(domain, delegation), signature, delegation.patient);
  const delegateSignature = await parseDelegateKeySignature(
    root.delegateSignature,
    domain,
    delegation.patient,
    delegation.delegate,
  );
  return { delegation, signature, delegateSignature, delegationId: computeDelegationId(domain, delegation) };
}

/** A member's attestation of a minor's guardian, as the operator asks for it (decision 0021). */
export interface GuardianAttestation {
  readonly patient: Address;
  /** The guardian's delegate key for this ward only: `deriveWardDelegateKey(ownKey, patient)`. */
  readonly guardian: Address;
  readonly notBefore: bigint;
  readonly notAfter: bigint;
  /** The guardian key's DelegateKey(patient, guardian) acceptance. */
  readonly guardianSignature: Hex;
}

/**
 * Parses `{ patient, guardian, notBefore?, notAfter, guardianSignature }`: the guardian is a delegate key
 * whose holder signed DelegateKey(patient, guardian), so a member cannot name an address (say, the
 * guardian's own account) whose key the guardian did not offer for this ward. Throws ERR_INVALID_INPUT
 * or ERR_SIGNATURE_INVALID (reason `delegate-signature-invalid`).
 */
export async function parseGuardianAttestation(
  body: unknown,
  domain: ConsentDomain,
  now: () => number,
): Promise<GuardianAttestation> {
  const root = asObject(body, 'body');
  const patient = parseAddress(root.patient, 'patient');
  const guardian = parseAddress(root.guardian, 'guardian');
  const notBefore =
    root.notBefore === undefined
      ? BigInt(Math.floor(now() / 1000))
      : parseUint(root.notBefore, 'notBefore', UINT64_MAX);
  const notAfter = parseUint(root.notAfter, 'notAfter', UINT64_MAX);
  if (notAfter <= notBefore) throw invalid('notAfter must be later than notBefore', 'notAfter');
  if (guardian === patient) throw invalid('a patient cannot be their own guardian', 'guardian');
  const guardianSignature = await parseDelegateKeySignature(
    root.guardianSignature,
    domain,
    patient,
    guardian,
  );
  return { patient, guardian, notBefore, notAfter, guardianSignature };
}

async function parseDelegateKeySignature(
  value: unknown,
  domain: ConsentDomain,
  ward: Address,
  delegate: Address,
): Promise<Hex> {
  if (typeof value !== 'string' || !isHex(value) || value.length !== 132) {
    throw invalid(
      "the delegate key's DelegateKey acceptance must be a 65-byte hex signature",
      'delegateSignature',
    );
  }
  let signer: Address | undefined;
  try {
    signer = await recoverTypedDataAddress({
      ...createDelegateKeyTypedData(domain, { ward, delegate }),
      signature: value,
    });
  } catch {
    signer = undefined;
  }
  if (signer !== delegate) {
    throw new CareLedgerError(
      'ERR_SIGNATURE_INVALID',
      'the delegate key did not sign its acceptance of this ward (DelegateKey)',
      { details: { reason: 'delegate-signature-invalid' } },
    );
  }
  return value;
}

async function verifySigner(
  typedData: Parameters<typeof recoverTypedDataAddress>[0] extends infer P
    ? Omit<P & object, 'signature'>
    : never,
  signature: Hex,
  expected: Address,
  isDelegate?: IsDelegate,
): Promise<void> {
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...(typedData as object), signature } as Parameters<
      typeof recoverTypedDataAddress
    >[0]);
  } catch (cause) {
    throw new CareLedgerError('ERR_SIGNATURE_INVALID', 'the signature is malformed', { cause });
  }
  if (signer !== expected && (isDelegate === undefined || !(await isDelegate(expected, signer)))) {
    throw new CareLedgerError('ERR_SIGNATURE_INVALID', "the signature was not made by the patient's key", {
      details: { reason: 'wrong-signer' },
    });
  }
}
