/**
 * Which pack a FHIR R4 Medication names, if any: a GTIN (identifier or code with system
 * `https://www.gs1.org/gtin` or the GS1 OID `urn:oid:1.3.160`), a serial (identifier with system
 * `https://www.gs1.org/serial`), or a whole pack as a GS1 Digital Link or DataMatrix element string in
 * an identifier (system `https://id.gs1.org` or `urn:gs1:element-string`); lot and expiry from
 * `Medication.batch`. A Medication without both a GTIN and a serial names no pack (undefined).
 */
import type { Medication, MedicationDispense, Resource } from '@medplum/fhirtypes';
import { CareLedgerError } from '../../errors/index.js';
import { type PackIdentity, parsePackIdentity } from '../verify/verify-pack.js';

export const GTIN_SYSTEMS: ReadonlySet<string> = new Set(['https://www.gs1.org/gtin', 'urn:oid:1.3.160']);
export const SERIAL_SYSTEM = 'https://www.gs1.org/serial';
const PACK_SYSTEMS: ReadonlySet<string> = new Set(['https://id.gs1.org', 'urn:gs1:element-string']);

export function packOfMedication(medication: Medication, now: Date = new Date()): PackIdentity | undefined {
  let gtin: string | undefined;
  let serial: string | undefined;
  let whole: PackIdentity | undefined;
  for (const identifier of medication.identifier ?? []) {
    const system = identifier.system ?? '';
    const value = identifier.value;
    if (value === undefined) continue;
    if (GTIN_SYSTEMS.has(system)) gtin = value;
    else if (system === SERIAL_SYSTEM) serial = value;
    else if (PACK_SYSTEMS.has(system)) whole = parsePackIdentity(value, now);
  }
  for (const coding of medication.code?.coding ?? []) {
    if (gtin === undefined && coding.code !== undefined && GTIN_SYSTEMS.has(coding.system ?? ''))
      gtin = coding.code;
  }
  const lot = medication.batch?.lotNumber;
  const expiry = medication.batch?.expirationDate?.slice(0, 10);
  if (whole === undefined) {
    if (gtin === undefined || serial === undefined) return undefined;
    // Through the element-string parser: the GTIN's check digit and the serial's characters are checked.
    whole = parsePackIdentity(`(01)${gtin}(21)${serial}`, now);
  }
  if (expiry !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(expiry)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'Medication.batch.expirationDate must be a full date', {
      details: { reason: 'gs1-date' },
    });
  }
  return {
    ...whole,
    ...(lot === undefined ? {} : { lot }),
    ...(expiry === undefined ? {} : { expiry }),
  };
}

/** The Medication a MedicationDispense names: contained (`#id`) or a reference to read. */
export function medicationOfDispense(
  dispense: MedicationDispense,
): { contained: Medication } | { reference: string } | undefined {
  const reference = dispense.medicationReference?.reference;
  if (reference === undefined) return undefined;
  if (reference.startsWith('#')) {
    const found = (dispense.contained ?? []).find(
      (resource: Resource) => resource.resourceType === 'Medication' && resource.id === reference.slice(1),
    );
    return found === undefined ? undefined : { contained: found as Medication };
  }
  return /^Medication\/[A-Za-z0-9\-.]{1,64}$/.test(reference) ? { reference } : undefined;
}
