/**
 * A practitioner's licence as a W3C Verifiable Credential (Data Model 2.0): issued by a licensing
 * board, about a practitioner named by their ledger account as did:pkh (CAIP-10), revocable and
 * suspendable through Bitstring Status List entries. This file holds the shape: building one and
 * checking one that arrived from outside (every failure names why, details.reason 'malformed').
 */
import { CareLedgerError } from '../errors/index.js';

export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';
/** CareLedger's own terms (licenseNumber, jurisdiction, qualification). Not yet published at this URL. */
export const CARELEDGER_CREDENTIALS_CONTEXT = 'https://careledger.example/ns/credentials/v1';
export const PRACTITIONER_LICENSE_TYPE = 'PractitionerLicenseCredential';
/** HL7 v2 table 0360 (degree/licence/certificate), as FHIR Practitioner.qualification.code uses it. */
export const V2_0360_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0360';

export type StatusPurpose = 'revocation' | 'suspension';

export interface BitstringStatusListEntry {
  readonly id?: string;
  readonly type: 'BitstringStatusListEntry';
  readonly statusPurpose: StatusPurpose;
  /** A decimal string, as the spec writes it. */
  readonly statusListIndex: string;
  /** URL of the BitstringStatusListCredential holding the bit. */
  readonly statusListCredential: string;
}

export interface Qualification {
  readonly system: string;
  readonly code: string;
  readonly display?: string;
}

export interface PractitionerLicenseSubject {
  /** did:pkh:eip155:<chainId>:<address> */
  readonly id: string;
  readonly licenseNumber: string;
  /** ISO 3166-2 code of the licensing jurisdiction, e.g. US-MA. */
  readonly jurisdiction: string;
  readonly qualification: Qualification;
}

export interface PractitionerLicenseCredential {
  readonly '@context': readonly string[];
  readonly id?: string;
  readonly type: readonly string[];
  /** The licensing board's id (a URL or DID). */
  readonly issuer: string;
  readonly validFrom: string;
  readonly validUntil?: string;
  readonly credentialSubject: PractitionerLicenseSubject;
  readonly credentialStatus: readonly BitstringStatusListEntry[];
}

const DID_PKH_EIP155 = /^did:pkh:eip155:[1-9][0-9]{0,18}:0x[0-9a-fA-F]{40}$/;
// XML Schema dateTimeStamp (VC 2.0 §4.9): a date-time with a time zone.
const DATE_TIME_STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DECIMAL_INDEX = /^(0|[1-9][0-9]{0,9})$/;

/** The practitioner's subject id: did:pkh:eip155:<chainId>:<address>, address lower-cased. */
export function practitionerDid(chainId: number, address: string): string {
  const did = `did:pkh:eip155:${chainId}:${address.toLowerCase()}`;
  if (!DID_PKH_EIP155.test(did)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'not an EVM chain id and account address');
  }
  return did;
}

/** Two did:pkh ids name the same account (the address compared without case). */
export function sameSubject(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

export interface LicenseCredentialInput {
  readonly id?: string;
  readonly issuer: string;
  readonly validFrom: Date;
  readonly validUntil?: Date;
  readonly subject: PractitionerLicenseSubject;
  /** Index of this credential in the issuer's revocation and suspension lists. */
  readonly status: {
    readonly index: number;
    readonly revocationList: string;
    readonly suspensionList: string;
  };
}

/** Builds an (unsigned) licence credential, checked by parseCredential before it is returned. */
export function buildLicenseCredential(input: LicenseCredentialInput): PractitionerLicenseCredential {
  const index = String(input.status.index);
  const credential = {
    '@context': [VC_V2_CONTEXT, CARELEDGER_CREDENTIALS_CONTEXT],
    ...(input.id === undefined ? {} : { id: input.id }),
    type: ['VerifiableCredential', PRACTITIONER_LICENSE_TYPE],
    issuer: input.issuer,
    validFrom: input.validFrom.toISOString(),
    ...(input.validUntil === undefined ? {} : { validUntil: input.validUntil.toISOString() }),
    credentialSubject: { ...input.subject, qualification: { ...input.subject.qualification } },
    credentialStatus: [
      {
        id: `${input.status.revocationList}#${index}`,
        type: 'BitstringStatusListEntry',
        statusPurpose: 'revocation',
        statusListIndex: index,
        statusListCredential: input.status.revocationList,
      },
      {
        id: `${input.status.suspensionList}#${index}`,
        type: 'BitstringStatusListEntry',
        statusPurpose: 'suspension',
        statusListIndex: index,
        statusListCredential: input.status.suspensionList,
      },
    ],
  };
  return parseCredential(credential);
}

function malformed(why: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', `malformed licence credential: ${why}`, {
    details: { reason: 'malformed', why },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 2048;
}

function isUrl(value: unknown): value is string {
  if (!nonEmptyString(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

function dateTimeStamp(value: unknown, field: string): string {
  if (typeof value !== 'string' || !DATE_TIME_STAMP.test(value) || Number.isNaN(Date.parse(value))) {
    throw malformed(`${field} is not a date-time with a time zone`);
  }
  return value;
}

function parseStatusEntry(value: unknown): BitstringStatusListEntry {
  if (!isObject(value) || value.type !== 'BitstringStatusListEntry') {
    throw malformed('credentialStatus entries must be BitstringStatusListEntry');
  }
  if (value.statusPurpose !== 'revocation' && value.statusPurpose !== 'suspension') {
    throw malformed('statusPurpose must be revocation or suspension');
  }
  if (typeof value.statusListIndex !== 'string' || !DECIMAL_INDEX.test(value.statusListIndex)) {
    throw malformed('statusListIndex must be a decimal string');
  }
  if (!isUrl(value.statusListCredential)) throw malformed('statusListCredential must be a URL');
  if (value.statusSize !== undefined && value.statusSize !== 1)
    throw malformed('only statusSize 1 is supported');
  if (value.id !== undefined && !isUrl(value.id)) throw malformed('a status entry id must be a URL');
  return {
    ...(value.id === undefined ? {} : { id: value.id as string }),
    type: 'BitstringStatusListEntry',
    statusPurpose: value.statusPurpose,
    statusListIndex: value.statusListIndex,
    statusListCredential: value.statusListCredential,
  };
}

function parseSubject(value: unknown): PractitionerLicenseSubject {
  if (!isObject(value)) throw malformed('credentialSubject must be one object');
  if (typeof value.id !== 'string' || !DID_PKH_EIP155.test(value.id)) {
    throw malformed('credentialSubject.id must be did:pkh:eip155:<chainId>:<address>');
  }
  if (!nonEmptyString(value.licenseNumber)) throw malformed('credentialSubject.licenseNumber is missing');
  if (!nonEmptyString(value.jurisdiction)) throw malformed('credentialSubject.jurisdiction is missing');
  const q = value.qualification;
  if (!isObject(q) || !isUrl(q.system) || !nonEmptyString(q.code)) {
    throw malformed('credentialSubject.qualification needs a system URL and a code');
  }
  if (q.display !== undefined && !nonEmptyString(q.display))
    throw malformed('qualification.display must be text');
  return {
    id: value.id,
    licenseNumber: value.licenseNumber,
    jurisdiction: value.jurisdiction,
    qualification: {
      system: q.system,
      code: q.code,
      ...(q.display === undefined ? {} : { display: q.display as string }),
    },
  };
}

/**
 * Checks that `value` is a practitioner licence credential of the shape above and returns it.
 * `issuer` may be a string or an object with an `id` (VC 2.0 §4.7); it is returned as the id.
 * Throws ERR_INVALID_INPUT with details.reason 'malformed' and details.why.
 */
export function parseCredential(value: unknown): PractitionerLicenseCredential {
  if (!isObject(value)) throw malformed('not a JSON object');
  const context = value['@context'];
  if (
    !Array.isArray(context) ||
    context[0] !== VC_V2_CONTEXT ||
    !context.includes(CARELEDGER_CREDENTIALS_CONTEXT)
  ) {
    throw malformed(`@context must start with ${VC_V2_CONTEXT} and include the CareLedger context`);
  }
  if (!context.every((c) => typeof c === 'string')) throw malformed('@context entries must be URLs');
  const type = value.type;
  if (
    !Array.isArray(type) ||
    !type.includes('VerifiableCredential') ||
    !type.includes(PRACTITIONER_LICENSE_TYPE) ||
    !type.every((t) => typeof t === 'string')
  ) {
    throw malformed(`type must include VerifiableCredential and ${PRACTITIONER_LICENSE_TYPE}`);
  }
  if (value.id !== undefined && !isUrl(value.id)) throw malformed('id must be a URL');
  const issuer = isObject(value.issuer) ? value.issuer.id : value.issuer;
  if (!isUrl(issuer)) throw malformed('issuer must be a URL or DID');
  const validFrom = dateTimeStamp(value.validFrom, 'validFrom');
  const validUntil =
    value.validUntil === undefined ? undefined : dateTimeStamp(value.validUntil, 'validUntil');
  if (validUntil !== undefined && Date.parse(validUntil) <= Date.parse(validFrom)) {
    throw malformed('validUntil must come after validFrom');
  }
  const status = Array.isArray(value.credentialStatus) ? value.credentialStatus : [value.credentialStatus];
  const credentialStatus = status.map(parseStatusEntry);
  const purposes = new Set(credentialStatus.map((s) => s.statusPurpose));
  if (
    !purposes.has('revocation') ||
    !purposes.has('suspension') ||
    purposes.size !== credentialStatus.length
  ) {
    throw malformed('credentialStatus needs exactly one revocation and one suspension entry');
  }
  return {
    '@context': context as string[],
    ...(value.id === undefined ? {} : { id: value.id as string }),
    type: type as string[],
    issuer,
    validFrom,
    ...(validUntil === undefined ? {} : { validUntil }),
    credentialSubject: parseSubject(value.credentialSubject),
    credentialStatus,
  };
}
