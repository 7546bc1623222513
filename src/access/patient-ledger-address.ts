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
