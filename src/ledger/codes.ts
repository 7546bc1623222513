/**
 * The TypeScript side of the ledger's enumerations: member roles, data categories and purposes of
 * use. Categories and purposes are uint256 bitmasks (one bit each) in the patient-signed EIP-712
 * Terms of a grant, which reach the chain only as a salted commitment (decision 0013); bit positions
 * are part of the signed format and must never be renumbered or reused.
 */
import { CareLedgerError } from '../errors/index.js';

/** Member roles; values match the uint8 role of ConsortiumRegistry (0 is not a role). */
export const MEMBER_ROLES = {
  provider: 1,
  lab: 2,
  pharmacy: 3,
  payer: 4,
  research: 5,
  manufacturer: 6,
  distributor: 7,
  'licensing-board': 8,
} as const;

export type MemberRole = keyof typeof MEMBER_ROLES;
export type MemberRoleValue = (typeof MEMBER_ROLES)[MemberRole];

export function isMemberRole(value: unknown): value is MemberRole {
  return typeof value === 'string' && Object.hasOwn(MEMBER_ROLES, value);
}

/** Parses a role name or its on-chain number. */
export function parseMemberRole(value: string | number): MemberRole {
  if (typeof value === 'string') {
    if (isMemberRole(value)) return value;
  } else {
    for (const [name, code] of Object.entries(MEMBER_ROLES)) {
      if (code === value) return name as MemberRole;
    }
  }
  throw new CareLedgerError('ERR_INVALID_INPUT', 'unknown member role', { details: { role: String(value) } });
}

export interface DataCategoryInfo {
  readonly bit: number;
  readonly display: string;
  /** FHIR R4 resource types whose instances fall in the category (the policy layer refines this). */
  readonly fhirResourceTypes: readonly string[];
  /** HL7 v3 ActCode sensitivity code, for the sensitive categories (v3-ActCode, _ActInformationSensitivityPolicy). */
  readonly sensitivityCode?: string;
}

/**
 * Data categories. The sensitive ones (mental health, substance use, HIV, genetics, sexual and
 * reproductive health) are separate bits so a patient can share their record but not these parts,
 * as 42 CFR Part 2 and many state laws require for substance-use and HIV information.
 */
export const DATA_CATEGORIES = {
  demographics: { bit: 0, display: 'Demographics', fhirResourceTypes: ['Patient', 'RelatedPerson'] },
  conditions: { bit: 1, display: 'Conditions and problems', fhirResourceTypes: ['Condition'] },
  medications: {
    bit: 2,
    display: 'Medications',
    fhirResourceTypes: [
      'MedicationRequest',
      'MedicationStatement',
      'MedicationDispense',
      'MedicationAdministration',
    ],
  },
  allergies: { bit: 3, display: 'Allergies and intolerances', fhirResourceTypes: ['AllergyIntolerance'] },
  immunizations: { bit: 4, display: 'Immunizations', fhirResourceTypes: ['Immunization'] },
  laboratory: {
    bit: 5,
    display: 'Laboratory results',
    fhirResourceTypes: ['Observation', 'DiagnosticReport', 'Specimen'],
  },
  'vital-signs': { bit: 6, display: 'Vital signs', fhirResourceTypes: ['Observation'] },
  procedures: { bit: 7, display: 'Procedures', fhirResourceTypes: ['Procedure'] },
  encounters: { bit: 8, display: 'Encounters', fhirResourceTypes: ['Encounter'] },
  'clinical-notes': {
    bit: 9,
    display: 'Clinical notes and documents',
    fhirResourceTypes: ['DocumentReference', 'Composition'],
  },
  'care-plans': { bit: 10, display: 'Care plans', fhirResourceTypes: ['CarePlan', 'Goal', 'CareTeam'] },
  imaging: { bit: 11, display: 'Imaging', fhirResourceTypes: ['ImagingStudy', 'DiagnosticReport'] },
  'mental-health': { bit: 12, display: 'Mental health', fhirResourceTypes: [], sensitivityCode: 'PSY' },
  'substance-use': { bit: 13, display: 'Substance use', fhirResourceTypes: [], sensitivityCode: 'ETH' },
  hiv: { bit: 14, display: 'HIV/AIDS', fhirResourceTypes: [], sensitivityCode: 'HIV' },
  genetic: { bit: 15, display: 'Genetic information', fhirResourceTypes: [], sensitivityCode: 'GDIS' },
  'sexual-reproductive': {
    bit: 16,
    display: 'Sexual and reproductive health',
    fhirResourceTypes: [],
    sensitivityCode: 'SEX',
  },
  financial: {
    bit: 17,
    display: 'Financial and claims',
    fhirResourceTypes: ['Claim', 'ClaimResponse', 'ExplanationOfBenefit', 'Coverage'],
  },
} as const satisfies Record<string, DataCategoryInfo>;

export type DataCategory = keyof typeof DATA_CATEGORIES;

export interface PurposeOfUseInfo {
  readonly bit: number;
  readonly display: string;
}

/**
 * Purposes of use, keyed by their HL7 v3 ActReason code (code system
 * http://terminology.hl7.org/CodeSystem/v3-ActReason). The list is the nine codes of the
 * GeneralPurposeOfUse value set (OID 2.16.840.1.113883.1.11.20449), plus five from the wider
 * PurposeOfUse value set (2.16.840.1.113883.1.11.20448) that consent directives commonly name:
 * CLINTRCH, FAMRQT, PWATRNY, HDIRECT and HLEGAL.
 *
 * Bits are independent: the v3 hierarchy (ETREAT is-a TREAT, CLINTRCH is-a HRESCH) is not implied
 * on chain; a grant for TREAT does not cover ETREAT unless the patient sets both bits.
 */
export const PURPOSES_OF_USE = {
  TREAT: { bit: 0, display: 'treatment' },
  ETREAT: { bit: 1, display: 'emergency treatment' },
  HPAYMT: { bit: 2, display: 'healthcare payment' },
  HOPERAT: { bit: 3, display: 'healthcare operations' },
  HRESCH: { bit: 4, display: 'healthcare research' },
  CLINTRCH: { bit: 5, display: 'clinical trial research' },
  PUBHLTH: { bit: 6, display: 'public health' },
  PATRQT: { bit: 7, display: 'patient requested' },
  FAMRQT: { bit: 8, display: 'family requested' },
  PWATRNY: { bit: 9, display: 'power of attorney' },
  HDIRECT: { bit: 10, display: 'directory' },
  COVERAGE: { bit: 11, display: 'coverage under policy or program' },
  HLEGAL: { bit: 12, display: 'legal' },
  HMARKT: { bit: 13, display: 'healthcare marketing' },
} as const satisfies Record<string, PurposeOfUseInfo>;

export type PurposeOfUse = keyof typeof PURPOSES_OF_USE;

/** The v3-ActReason code system URI, for FHIR Coding.system. */
export const PURPOSE_OF_USE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

export const ALL_DATA_CATEGORIES = Object.keys(DATA_CATEGORIES) as DataCategory[];
export const ALL_PURPOSES_OF_USE = Object.keys(PURPOSES_OF_USE) as PurposeOfUse[];

function encodeMask<K extends string>(
  table: Readonly<Record<K, { readonly bit: number }>>,
  names: readonly string[],
  kind: string,
): bigint {
  let mask = 0n;
  for (const name of names) {
    if (!Object.hasOwn(table, name)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `unknown ${kind}: ${JSON.stringify(name)}`, {
        details: { [kind]: name },
      });
    }
    mask |= 1n << BigInt(table[name as K].bit);
  }
  return mask;
}

function decodeMask<K extends string>(
  table: Readonly<Record<K, { readonly bit: number }>>,
  mask: bigint,
  kind: string,
): K[] {
  if (mask < 0n) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `negative ${kind} mask`, {
      details: { mask: mask.toString() },
    });
  }
  const names: K[] = [];
  let known = 0n;
  for (const name of Object.keys(table) as K[]) {
    const bit = 1n << BigInt(table[name].bit);
    known |= bit;
    if ((mask & bit) !== 0n) names.push(name);
  }
  if ((mask & ~known) !== 0n) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `unknown ${kind} bits in mask`, {
      details: { mask: `0x${mask.toString(16)}`, unknownBits: `0x${(mask & ~known).toString(16)}` },
    });
  }
  return names;
}

/** Encodes category names as the on-chain bitmask. Throws ERR_INVALID_INPUT on an unknown name. */
export function encodeCategories(names: readonly string[]): bigint {
  return encodeMask(DATA_CATEGORIES, names, 'category');
}

/** Decodes an on-chain category bitmask, in bit order. Throws ERR_INVALID_INPUT on unknown bits. */
export function decodeCategories(mask: bigint): DataCategory[] {
  return decodeMask(DATA_CATEGORIES, mask, 'category');
}

/** Encodes HL7 PurposeOfUse codes as the on-chain bitmask. Throws ERR_INVALID_INPUT on an unknown code. */
export function encodePurposes(codes: readonly string[]): bigint {
  return encodeMask(PURPOSES_OF_USE, codes, 'purpose');
}

/** Decodes an on-chain purpose bitmask, in bit order. Throws ERR_INVALID_INPUT on unknown bits. */
export function decodePurposes(mask: bigint): PurposeOfUse[] {
  return decodeMask(PURPOSES_OF_USE, mask, 'purpose');
}

export function isDataCategory(value: unknown): value is DataCategory {
  return typeof value === 'string' && Object.hasOwn(DATA_CATEGORIES, value);
}

export function isPurposeOfUse(value: unknown): value is PurposeOfUse {
  return typeof value === 'string' && Object.hasOwn(PURPOSES_OF_USE, value);
}
