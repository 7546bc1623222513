import type { Bundle, Claim, Patient } from '@medplum/fhirtypes';
import { type Address, getAddress, isAddress } from 'viem';
import { categorizeResource, LEDGER_ADDRESS_SYSTEM, patientLedgerAddress } from '../access/index.js';
import { CareLedgerError } from '../errors/index.js';
import { parseResource } from '../fhir/validate-resource.js';
import type { DataCategory } from '../ledger/index.js';

function malformed(message: string, reason: string): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, { details: { reason } });
}

export interface ClaimSubmission {
  readonly claim: Claim;
  /** The patient's pseudonymous ledger address, how the payer finds them among its own patients. */
  readonly patientAddress: Address;
}

/**
 * The body of `Claim/$submit` (FHIR R4 Claim-submit): a Claim, or a Bundle whose first entry is the
 * Claim (other entries, e.g. the Patient it references, may follow). The patient is named by their
 * ledger address: an identifier of `Claim.patient`, or of the bundled Patient it references. Anything
 * else is malformed input (ERR_INVALID_INPUT: a 400 OperationOutcome), not a claim decision.
 */
export function parseClaimSubmission(body: unknown): ClaimSubmission {
  const resource = parseResource(body);
  let claim: Claim;
  let bundled: readonly { fullUrl?: string; resource?: unknown }[] = [];
  if (resource.resourceType === 'Bundle') {
    const entries = (resource as Bundle).entry ?? [];
    const first = entries[0]?.resource;
    if (first?.resourceType !== 'Claim')
      malformed('the Bundle must hold the Claim as its first entry', 'claim-not-first');
    claim = first as Claim;
    bundled = entries.slice(1);
  } else if (resource.resourceType === 'Claim') {
    claim = resource as Claim;
  } else {
    malformed('Claim/$submit takes a Claim or a Bundle with the Claim first', 'not-a-claim');
  }
  if (claim.use !== 'claim' && claim.use !== 'preauthorization')
    malformed('Claim.use must be claim or preauthorization', 'unsupported-use');
  const direct = claim.patient?.identifier;
  let address: string | undefined =
    direct?.system === LEDGER_ADDRESS_SYSTEM && direct.value !== undefined ? direct.value : undefined;
  if (address === undefined) {
    const reference = claim.patient?.reference;
    const patient = bundled.find(
      (e) =>
        (e.resource as Patient | undefined)?.resourceType === 'Patient' &&
        reference !== undefined &&
        (e.fullUrl === reference || `Patient/${(e.resource as Patient).id}` === reference),
    )?.resource as Patient | undefined;
    address = patientLedgerAddress(patient);
  }
  if (address === undefined || !isAddress(address, { strict: false }))
    malformed(
      "Claim.patient must carry the patient's ledger address (identifier system " +
        `${LEDGER_ADDRESS_SYSTEM}), directly or on the bundled Patient`,
      'patient-unidentified',
    );
  return { claim, patientAddress: getAddress(address) };
}

/**
 * The data categories a claim discloses, which the patient's HPAYMT grant to the payer must cover:
 * always `financial`; `conditions` with diagnoses; `procedures` with service lines; and any
 * sensitive category its security labels name (42 CFR Part 2 and alike).
 */
export function claimCategories(claim: Claim): DataCategory[] {
  const categories = new Set<DataCategory>(['financial', ...categorizeResource(claim)]);
  if ((claim.diagnosis ?? []).length > 0) categories.add('conditions');
  if ((claim.item ?? []).length > 0) categories.add('procedures');
  return [...categories];
}
