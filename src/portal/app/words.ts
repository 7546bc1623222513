/**
 * Codes and references in the words a patient reads (issue 22, "Make it readable"): purposes of use
 * ("for your treatment"), what a grant lets its grantee do, who accessed a record ("You", "Dr Meredith
 * Grey, Riverside General Hospital", "a clinician of Northside Clinical Laboratory"). Pure functions.
 */
import { DATA_CATEGORIES, PURPOSES_OF_USE } from '../../ledger/codes.js';

/** How a purpose of use reads after "for": "your treatment", "healthcare payment". */
const PURPOSE_PHRASES: Record<string, string> = {
  TREAT: 'your treatment',
  ETREAT: 'emergency treatment',
  HPAYMT: 'payment for your care',
  HOPERAT: 'running the service',
  HRESCH: 'research',
  CLINTRCH: 'a clinical trial',
  PUBHLTH: 'public health',
  PATRQT: 'your own request',
  FAMRQT: 'a family member’s request',
  PWATRNY: 'your power of attorney',
  HDIRECT: 'the directory',
  COVERAGE: 'your insurance coverage',
  HLEGAL: 'legal reasons',
  HMARKT: 'marketing',
};

/** "for your treatment", "for your treatment and research"; '' for none. */
export function purposeWords(codes: readonly string[]): string {
  const phrases = codes
    .filter((c) => c !== '')
    .map((c) => PURPOSE_PHRASES[c] ?? PURPOSES_OF_USE[c as keyof typeof PURPOSES_OF_USE]?.display ?? c);
  if (phrases.length === 0) return '';
  return `for ${listWords(phrases)}`;
}

/** "a", "a and b", "a, b and c". */
export function listWords(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** "Laboratory results" → "laboratory results"; "HIV/AIDS" stays. */
function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? `${text.charAt(0).toLowerCase()}${text.slice(1)}` : text;
}

export function categoryNames(codes: readonly string[]): string[] {
  return codes.map((c) => DATA_CATEGORIES[c as keyof typeof DATA_CATEGORIES]?.display ?? c);
}

/**
 * What a grant does, as the patient should read it before signing (issue 22 item 1): the grantee may
 * match them to their records at each member by their ledger address (not their name or birth date,
 * unless Demographics is chosen) and receive the chosen kinds of records, for these purposes, until then;
 * copies a member fetches stay with it after a revocation.
 */
export function grantSummary(input: {
  grantee: string;
  categories: readonly string[];
  purposes: readonly string[];
  until: string;
}): string {
  if (input.categories.length === 0 || input.purposes.length === 0)
    return 'Choose at least one kind of record and one purpose.';
  const kinds = listWords(categoryNames(input.categories).map(lowerFirst));
  const identity = input.categories.includes('demographics')
    ? 'see your name, birth date and contact details'
    : 'recognise you at each member by your ledger address only (not your name or birth date)';
  return `${input.grantee} will be able to ${identity} and receive your ${kinds}, ${purposeWords(input.purposes)}, until ${input.until}. Nothing else moves. Copies a member has already fetched stay with that member if you later revoke.`;
}

/** The second agent of a read through a telehealth share (src/share/share-service.ts). */
export const TELEHEALTH_SHARE_AGENT = 'urn:careledger:telehealth-share:';

export interface PersonDirectory {
  /** The signed-in user's FHIR reference (`Patient/…` or `Practitioner/…`). */
  readonly self?: string;
  /** Consortium members by lower-case ledger address. */
  readonly members: ReadonlyMap<string, string>;
  /** Practitioners attested on the ledger: lower-case address → their organization's lower-case address. */
  readonly practitioners: ReadonlyMap<string, string>;
  /** Display names known for references (`Practitioner/dr-grey` → "Dr Meredith Grey"). */
  readonly names?: ReadonlyMap<string, string>;
  /** This node's organization: where a local practitioner works. */
  readonly here: string;
}

/**
 * A FHIR reference in words: "You"; a member's name for `Organization/0x…`; "Dr Meredith Grey,
 * Riverside General Hospital" when the name is known; else "a clinician of <organization>"; never an
 * address or id when anything better is known.
 */
export function personName(reference: string | undefined, directory: PersonDirectory): string {
  if (reference === undefined || reference === '') return 'someone';
  if (reference === directory.self) return 'You';
  // A read through a telehealth share (decision 0030): the clinician the patient shared with.
  if (reference.startsWith(TELEHEALTH_SHARE_AGENT))
    return directory.names?.get(reference) ?? 'a clinician you shared with (telehealth share)';
  const [type = '', id = ''] = reference.split('/');
  const known = directory.names?.get(reference);
  if (type === 'Organization')
    return directory.members.get(id.toLowerCase()) ?? known ?? 'another organization';
  if (type === 'Practitioner' || type === 'PractitionerRole') {
    const organization = /^0x[0-9a-fA-F]{40}$/.test(id)
      ? directory.members.get(directory.practitioners.get(id.toLowerCase()) ?? '')
      : directory.here;
    if (known !== undefined) return organization === undefined ? known : `${known}, ${organization}`;
    return organization === undefined ? 'a clinician' : `a clinician of ${organization}`;
  }
  if (type === 'Patient') return known ?? 'a patient';
  if (type === 'Device') return known ?? 'a system';
  return known ?? reference;
}
