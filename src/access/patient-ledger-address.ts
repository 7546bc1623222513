import type { Resource } from '@medplum/fhirtypes';
import { type Address, getAddress, isAddress } from 'viem';

/**
 * The identifier system under which a Patient resource carries the patient's ledger address (the key
 * that signs their consent). It links the record at a node to the grants on the ledger; it is a
 * pseudonym, not PHI, and it is the only link between the two.
 */
export const LEDGER_ADDRESS_SYSTEM = 'https://careledger.dev/fhir/sid/ledger-address';

/** The ledger address on a Patient resource, or undefined if it has none (or an invalid one). */
export function patientLedgerAddress(patient: Resource | undefined): Address | undefined {
  if (patient?.resourceType !== 'Patient') return undefined;
  const value = patient.identifier?.find((i) => i.system === LEDGER_ADDRESS_SYSTEM)?.value;
  return value !== undefined && isAddress(value, { strict: false }) ? getAddress(value) : undefined;
}

/**
 * The values of every ledger-address identifier a Patient carries, lower-cased and sorted: what a
 * write may not change outside key enrolment (issue 14 item 12). Any other resource type carries none
 * here (an Organization's or a Consent actor's address is not a patient's link).
 */
export function ledgerAddressIdentifiers(resource: Resource | undefined): string[] {
  if (resource?.resourceType !== 'Patient') return [];
  return (resource.identifier ?? [])
    .filter((i) => i.system === LEDGER_ADDRESS_SYSTEM)
    .map((i) => String(i.value ?? '').toLowerCase())
    .sort();
}

/**
 * True if `next` carries the same ledger-address identifiers as `previous` (the version it replaces,
 * undefined for a create): the only Patient writes the plain FHIR API may make. Linking, changing or
 * removing the address goes through key enrolment, with the patient's proof of possession.
 */
export function isLedgerAddressUnchanged(
  previous: Resource | undefined,
  next: Resource | undefined,
): boolean {
  const before = ledgerAddressIdentifiers(previous);
  const after = ledgerAddressIdentifiers(next);
  return before.length === after.length && before.every((value, i) => value === after[i]);
}

/** The refusal reason of a plain FHIR write that would link, change or remove a patient's ledger key. */
export const LEDGER_ADDRESS_WRITE_REFUSED =
  'the ledger-address identifier is set only by key enrolment with the patient\u2019s proof of possession (POST Patient/{id}/$enrol-ledger-key); keep it as enrolled';

/** `patient` with exactly one ledger-address identifier, `address` (or none, for undefined). */
export function withLedgerAddress<T extends Resource>(patient: T, address: Address | undefined): T {
  const others = ((patient as { identifier?: { system?: string }[] }).identifier ?? []).filter(
    (i) => i.system !== LEDGER_ADDRESS_SYSTEM,
  );
  const identifier =
    address === undefined ? others : [...others, { system: LEDGER_ADDRESS_SYSTEM, value: address }];
  const { identifier: _replaced, ...rest } = patient as T & { identifier?: unknown };
  // FHIR JSON has no empty arrays (R4 §2.6.2): no identifier left means no `identifier`.
  return (identifier.length === 0 ? rest : { ...rest, identifier }) as T;
}
