/**
 * Drug–allergy check when prescribing (issue 22, "For clinicians"): a MedicationRequest whose RxNorm
 * codes (the medication's codings, which a prescriber's system lists down to the ingredient) match the
 * RxNorm code of one of the patient's active AllergyIntolerance records is refused with 409 and an
 * OperationOutcome warning, unless the request carries the override extension with the clinician's
 * stated reason (kept in the record, so the override is in its history).
 *
 * Not done here: mapping a clinical drug (SCD) to its ingredients needs RxNorm's relations, which this
 * node does not ship; the match is on the codes the request and the allergy carry.
 */
import type { AllergyIntolerance, MedicationRequest, Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';

export const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
export const ALLERGY_OVERRIDE_EXTENSION =
  'https://careledger.dev/fhir/StructureDefinition/allergy-override-reason';

/** The allergies of the patient that the request's RxNorm codes match (active, not refuted or in error). */
export function matchingAllergies(
  request: MedicationRequest,
  allergies: readonly AllergyIntolerance[],
): AllergyIntolerance[] {
  const drugCodes = new Set(
    (request.medicationCodeableConcept?.coding ?? [])
      .filter((c) => c.system === RXNORM && c.code !== undefined)
      .map((c) => c.code as string),
  );
  if (drugCodes.size === 0) return [];
  return allergies.filter((a) => {
    const clinical = a.clinicalStatus?.coding?.[0]?.code;
    const verification = a.verificationStatus?.coding?.[0]?.code;
    if (clinical !== undefined && clinical !== 'active') return false;
    if (verification === 'refuted' || verification === 'entered-in-error') return false;
    return (a.code?.coding ?? []).some((c) => c.system === RXNORM && drugCodes.has(c.code ?? ''));
  });
}

export function overrideReason(request: MedicationRequest): string | undefined {
  const reason = request.extension?.find((e) => e.url === ALLERGY_OVERRIDE_EXTENSION)?.valueString?.trim();
  return reason === undefined || reason.length < 3 ? undefined : reason;
}

/**
 * The vault's pre-write check: throws ERR_CLINICAL_WARNING (409, OperationOutcome severity warning)
 * for a new or changed active MedicationRequest that matches an allergy and has no override reason.
 */
export function createDrugAllergyCheck(
  allergiesOf: (patientId: string, context: AccessContext) => Promise<AllergyIntolerance[]>,
): (resource: Resource, context: AccessContext) => Promise<void> {
  return async (resource, context) => {
    if (resource.resourceType !== 'MedicationRequest') return;
    const request = resource as MedicationRequest;
    if (request.status !== undefined && !['active', 'draft', 'on-hold'].includes(request.status)) return;
    const patient = request.subject?.reference;
    if (patient === undefined || !patient.startsWith('Patient/')) return;
    if (overrideReason(request) !== undefined) return;
    const matches = matchingAllergies(request, await allergiesOf(patient.slice('Patient/'.length), context));
    if (matches.length === 0) return;
    // No allergy names in the message (it may be logged): the references say which records.
    throw new CareLedgerError(
      'ERR_CLINICAL_WARNING',
      `the patient has a recorded allergy to this medication: prescribe something else, or state why you override (extension ${ALLERGY_OVERRIDE_EXTENSION})`,
      { details: { allergies: matches.map((a) => `AllergyIntolerance/${a.id}`) } },
    );
  };
}
