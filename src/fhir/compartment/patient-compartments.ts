import type { Resource } from '@medplum/fhirtypes';
import { PATIENT_COMPARTMENT_PARAMS, type R4ResourceType } from '../r4-resource-types.js';
import { evaluateSearchParam, extractReferences } from '../search/extract-search-values.js';
import { getSearchParam } from '../search/load-search-parameters.js';

/**
 * Types R4 leaves out of the Patient compartment although an R4 `patient` search parameter names a
 * Patient in them: a Device implanted in or assigned to a patient (`Device.patient`), a Contract about
 * a patient, a GuidanceResponse for a patient. They are a patient's record all the same, so the vault
 * treats them as in that patient's compartment (sealed under their key, judged by their consent)
 * rather than as the node's directory, which anyone on the node may read.
 */
const CARELEDGER_COMPARTMENT_PARAMS = {
  Device: ['patient'],
  Contract: ['patient'],
  GuidanceResponse: ['patient'],
} as const satisfies Partial<Record<R4ResourceType, readonly string[]>>;

const PARAMS: Readonly<Record<string, readonly string[] | undefined>> = {
  ...PATIENT_COMPARTMENT_PARAMS,
  ...CARELEDGER_COMPARTMENT_PARAMS,
};

/**
 * Where the CompartmentDefinition's order does not start with the person the record is about:
 * Coverage lists policy-holder and subscriber before beneficiary (Coverage.beneficiary, 1..1, "the
 * party who benefits"), so a child's coverage held by a parent would be the parent's record.
 */
const SUBJECT_FIRST: Readonly<Record<string, string>> = { Coverage: 'beneficiary' };

/**
 * The search parameters that place a resource of this type in a patient's compartment, in the R4
 * CompartmentDefinition's order (plus CareLedger's additions above); empty for types in none.
 */
export function patientCompartmentParams(resourceType: string): readonly string[] {
  return PARAMS[resourceType] ?? [];
}

/** Whether resources of this type can be in a patient's compartment (Bundle and Binary through their content). */
export function isPatientCompartmentType(resourceType: string): boolean {
  return (
    patientCompartmentParams(resourceType).length > 0 ||
    resourceType === 'Bundle' ||
    resourceType === 'Binary'
  );
}

/**
 * The ids of every patient whose compartment the resource is in, in a deterministic order: the
 * patient itself first for a Patient; then, for each compartment parameter in definition order
 * (Coverage's beneficiary first, see SUBJECT_FIRST), the Patient references its FHIRPath yields, in
 * document order. References are read exactly as the
 * search index reads them (relative or absolute, `_history` dropped), so `Patient/1/Observation`, a
 * `patient=1` search and the key that seals the record all agree.
 *
 * Beyond the CompartmentDefinition: a Bundle (no compartment in R4) is in the compartments of its
 * entries' resources, and a Binary in its `securityContext`'s when that is a Patient (R4 Binary:
 * "the security sensitivity to use when deciding and enforcing access control").
 */
export function patientCompartmentsOf(resource: Resource): string[] {
  const ids = new Set<string>();
  collect(resource, ids);
  return [...ids];
}

function collect(resource: Resource, ids: Set<string>): void {
  const type = resource.resourceType;
  if (type === 'Patient' && resource.id !== undefined) ids.add(resource.id);
  if (type === 'Bundle') {
    for (const entry of resource.entry ?? []) if (entry.resource !== undefined) collect(entry.resource, ids);
    return;
  }
  if (type === 'Binary') {
    const reference = resource.securityContext?.reference;
    if (reference !== undefined) addPatient(reference, ids);
    return;
  }
  const first = SUBJECT_FIRST[type];
  const params = patientCompartmentParams(type);
  const ordered = first === undefined ? params : [first, ...params.filter((p) => p !== first)];
  for (const code of ordered) {
    const param = getSearchParam(type, code);
    // Every parameter the CompartmentDefinition names exists in R4's SearchParameters (tested).
    if (param === undefined) continue;
    for (const value of evaluateSearchParam(resource, param)) {
      const reference =
        typeof value.value === 'string'
          ? value.value
          : (value.value as { reference?: unknown } | null)?.reference;
      if (typeof reference === 'string') addPatient(reference, ids);
    }
  }
}

function addPatient(reference: string, ids: Set<string>): void {
  if (reference.startsWith('#')) return;
  const [found] = extractReferences([{ type: 'Reference', value: { reference } }]);
  if (found?.id !== undefined && found.normalized.startsWith('Patient/')) ids.add(found.id);
}
