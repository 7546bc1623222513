import type { Consent } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { ACT_CODE_SYSTEM, sensitiveCategoryOf } from '../access/categorize-resource.js';
import { LEDGER_ADDRESS_SYSTEM } from '../access/patient-ledger-address.js';
import { CareLedgerError } from '../errors/index.js';
import {
  DATA_CATEGORIES,
  type DataCategory,
  encodeCategories,
  encodePurposes,
  PURPOSE_OF_USE_SYSTEM,
} from '../ledger/index.js';

/** Where a FHIR Consent carries its ledger form: nonce and signature in, grant id and transaction out. */
export const LEDGER_CONSENT_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/ledger-consent';
/** The ledger's data categories as a FHIR code system (codes = the names in src/ledger/codes.ts). */
export const DATA_CATEGORY_SYSTEM = 'https://careledger.dev/fhir/CodeSystem/data-category';
/** Consent.identifier system of the ledger grant id. */
export const CONSENT_GRANT_SYSTEM = 'https://careledger.dev/fhir/sid/consent-grant';

function invalid(message: string, expression: string): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', message, { details: { reason: message, expression } });
}

/** A sub-extension of the ledger-consent extension, as a string. */
export function ledgerConsentValue(consent: Consent, name: string): string | undefined {
  const ext = consent.extension?.find((e) => e.url === LEDGER_CONSENT_EXTENSION);
  return ext?.extension?.find((e) => e.url === name)?.valueString;
}

/** Sets sub-extensions of the ledger-consent extension (other extensions are kept). */
export function withLedgerConsentValues(consent: Consent, values: Record<string, string>): Consent {
  const others = (consent.extension ?? []).filter((e) => e.url !== LEDGER_CONSENT_EXTENSION);
  const current = consent.extension?.find((e) => e.url === LEDGER_CONSENT_EXTENSION)?.extension ?? [];
  const merged = [
    ...current.filter((e) => !(e.url in values)),
    ...Object.entries(values).map(([url, valueString]) => ({ url, valueString })),
  ];
  return { ...consent, extension: [...others, { url: LEDGER_CONSENT_EXTENSION, extension: merged }] };
}

/**
 * The ledger form of a FHIR Consent (what the patient signs, EIP-712 Grant): the grantee from
 * `provision.actor` (an identifier in the ledger-address system), the data categories from
 * `provision.class` (CareLedger category codes) and `provision.securityLabel` (v3 PSY, ETH, HIV, GDIS,
 * SEX), purposes from `provision.purpose` (v3 ActReason), the window from `provision.period`, the
 * nonce and the terms' salt (decision 0013: the chain sees only a salted commitment to the terms) from
 * the ledger-consent extension. Throws ERR_INVALID_INPUT naming what is missing.
 */
export function toLedgerGrant(
  consent: Consent,
  patient: Address,
): {
  grant: {
    patient: Address;
    grantee: Address;
    categories: bigint;
    purposes: bigint;
    salt: Hex;
    notBefore: bigint;
    notAfter: bigint;
    nonce: bigint;
  };
  signature: string;
} {
  const provision = consent.provision;
  if (provision === undefined) throw invalid('the Consent needs a provision', 'Consent.provision');
  if (provision.type !== 'permit') {
    throw invalid('the ledger records permits: provision.type must be permit', 'Consent.provision.type');
  }
  const actors = provision.actor ?? [];
  const grantees = actors
    .map((a) => a.reference?.identifier)
    .filter((i) => i?.system === LEDGER_ADDRESS_SYSTEM && typeof i.value === 'string');
  if (grantees.length !== 1) {
    throw invalid(
      `provision.actor must name exactly one grantee by identifier in ${LEDGER_ADDRESS_SYSTEM}`,
      'Consent.provision.actor',
    );
  }
  const categories = new Set<DataCategory>();
  for (const coding of provision.class ?? []) {
    if (coding.system !== DATA_CATEGORY_SYSTEM || !Object.hasOwn(DATA_CATEGORIES, coding.code ?? '')) {
      throw invalid(
        `provision.class codes must be data categories of ${DATA_CATEGORY_SYSTEM}`,
        'Consent.provision.class',
      );
    }
    categories.add(coding.code as DataCategory);
  }
  for (const label of provision.securityLabel ?? []) {
    const category = label.system === ACT_CODE_SYSTEM ? sensitiveCategoryOf(label.code) : undefined;
    if (category === undefined) {
      throw invalid(
        'provision.securityLabel must be v3 ActCode PSY, ETH, HIV, GDIS or SEX',
        'Consent.provision.securityLabel',
      );
    }
    categories.add(category);
  }
  if (categories.size === 0)
    throw invalid('the Consent must name at least one data category', 'Consent.provision.class');
  const purposes = (provision.purpose ?? []).map((p) => {
    if (p.system !== PURPOSE_OF_USE_SYSTEM) {
      throw invalid(
        `provision.purpose codes must be in ${PURPOSE_OF_USE_SYSTEM}`,
        'Consent.provision.purpose',
      );
    }
    return p.code ?? '';
  });
  if (purposes.length === 0)
    throw invalid('the Consent must name at least one purpose of use', 'Consent.provision.purpose');
  const start = Date.parse(provision.period?.start ?? '');
  const end = Date.parse(provision.period?.end ?? '');
  if (Number.isNaN(start) || Number.isNaN(end)) {
    throw invalid('provision.period needs a start and an end', 'Consent.provision.period');
  }
  if (end <= start) throw invalid('notAfter must be later than notBefore', 'Consent.provision.period');
  const nonce = ledgerConsentValue(consent, 'nonce');
  const signature = ledgerConsentValue(consent, 'signature');
  const salt = ledgerConsentValue(consent, 'salt');
  if (salt === undefined || !/^0x[0-9a-fA-F]{64}$/.test(salt)) {
    throw invalid(
      "the ledger-consent extension needs the salt of the grant's terms (32 random bytes, hex)",
      'Consent.extension',
    );
  }
  if (nonce === undefined || !/^(0|[1-9][0-9]{0,19})$/.test(nonce)) {
    throw invalid('the ledger-consent extension needs the nonce the patient signed', 'Consent.extension');
  }
  if (signature === undefined) {
    throw invalid("the ledger-consent extension needs the patient's EIP-712 signature", 'Consent.extension');
  }
  return {
    grant: {
      patient,
      grantee: grantees[0]?.value as Address,
      categories: encodeCategories([...categories]),
      purposes: encodePurposes(purposes),
      salt: salt as Hex,
      notBefore: BigInt(Math.floor(start / 1000)),
      notAfter: BigInt(Math.floor(end / 1000)),
      nonce: BigInt(nonce),
    },
    signature,
  };
}

/** The relay body parseSignedGrant reads (bigints as decimal strings). */
export function toSignedGrantBody(form: ReturnType<typeof toLedgerGrant>): {
  grant: Record<string, string>;
  signature: string;
} {
  return {
    grant: Object.fromEntries(
      Object.entries(form.grant).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
    ),
    signature: form.signature,
  };
}

export type ConsentLedgerCheck = {
  readonly grantId: Hex;
  readonly onLedger: boolean;
  readonly matches: boolean;
  readonly revoked: boolean;
  readonly transaction?: string;
  readonly blockNumber?: number;
  readonly reason?: string;
};
