import type { Resource } from '@medplum/fhirtypes';
import { DATA_CATEGORIES, type DataCategory } from '../ledger/index.js';

/** HL7 v3 ActCode (confidentiality and sensitivity labels in `meta.security`). */
export const ACT_CODE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';

/** Sensitivity code (PSY, ETH, HIV, GDIS, SEX) → the ledger category a consent must name. */
const SENSITIVE_BY_CODE: ReadonlyMap<string, DataCategory> = new Map(
  (Object.entries(DATA_CATEGORIES) as [DataCategory, { sensitivityCode?: string }][])
    .filter(([, info]) => info.sensitivityCode !== undefined)
    .map(([name, info]) => [info.sensitivityCode as string, name]),
);

export const SENSITIVE_CATEGORIES: ReadonlySet<DataCategory> = new Set(SENSITIVE_BY_CODE.values());

/** The ledger category of a v3 ActCode sensitivity code (PSY, ETH, HIV, GDIS, SEX), or undefined. */
export function sensitiveCategoryOf(code: string | undefined): DataCategory | undefined {
  return SENSITIVE_BY_CODE.get(code ?? '');
}

/** Resource types that are not a patient's clinical data and fall in no category (the node's directory). */
const DIRECTORY_TYPES: ReadonlySet<string> = new Set([
  'Organization',
  'Practitioner',
  'PractitionerRole',
  'Location',
  'HealthcareService',
  'Endpoint',
  'Medication',
  'Device',
]);

/** Category of a type, where one type maps to one category; Observation and DiagnosticReport look closer. */
const CATEGORY_BY_TYPE: ReadonlyMap<string, DataCategory> = new Map([
  ['Patient', 'demographics'],
  ['RelatedPerson', 'demographics'],
  // A patient's consent directives and the provenance of their records are about the record itself.
  ['Consent', 'demographics'],
  ['Provenance', 'demographics'],
  ['Condition', 'conditions'],
  ['MedicationRequest', 'medications'],
  ['MedicationStatement', 'medications'],
  ['MedicationDispense', 'medications'],
  ['MedicationAdministration', 'medications'],
  ['AllergyIntolerance', 'allergies'],
  ['Immunization', 'immunizations'],
  ['Specimen', 'laboratory'],
  ['Procedure', 'procedures'],
  ['Encounter', 'encounters'],
  ['DocumentReference', 'clinical-notes'],
  ['Composition', 'clinical-notes'],
  ['CarePlan', 'care-plans'],
  ['Goal', 'care-plans'],
  ['CareTeam', 'care-plans'],
  ['ImagingStudy', 'imaging'],
  ['Claim', 'financial'],
  ['ClaimResponse', 'financial'],
  ['ExplanationOfBenefit', 'financial'],
  ['Coverage', 'financial'],
]);

function codesOf(resource: Resource, field: string): string[] {
  const value = (resource as unknown as Record<string, unknown>)[field];
  const concepts = (Array.isArray(value) ? value : [value]) as { coding?: { code?: string }[] }[];
  return concepts.flatMap((c) => (c?.coding ?? []).map((coding) => coding.code ?? ''));
}

/**
 * The ledger data categories a resource falls in: one from its type (Observation by its category:
 * vital-signs or laboratory; DiagnosticReport: imaging for radiology, else laboratory), plus one per
 * sensitivity label in `meta.security` (v3 ActCode PSY, ETH, HIV, GDIS, SEX). A consent must cover
 * every category of a resource for the resource to be shared, so labelling a note HIV keeps it out of
 * a grant for clinical notes alone. An empty list means directory data (Organization, Practitioner…).
 */
export function categorizeResource(resource: Resource): DataCategory[] {
  const categories = new Set<DataCategory>();
  const type = resource.resourceType;
  if (type === 'Observation') {
    categories.add(codesOf(resource, 'category').includes('vital-signs') ? 'vital-signs' : 'laboratory');
  } else if (type === 'DiagnosticReport') {
    const codes = codesOf(resource, 'category');
    categories.add(codes.includes('RAD') || codes.includes('imaging') ? 'imaging' : 'laboratory');
  } else if (!DIRECTORY_TYPES.has(type)) {
    // An unlisted clinical type is treated as a clinical note: never shared under a narrower grant.
    categories.add(CATEGORY_BY_TYPE.get(type) ?? 'clinical-notes');
  }
  for (const label of resource.meta?.security ?? []) {
    if (label.system !== undefined && label.system !== ACT_CODE_SYSTEM) continue;
    const sensitive = sensitiveCategoryOf(label.code);
    if (sensitive !== undefined) categories.add(sensitive);
  }
  return [...categories];
}
