/**
 * Which licence an action needs (issue 21 item 3, decision 0028): the one table the live check reads.
 * Reading, and writing what is not an order, needs any valid licence; creating or updating an order
 * (a prescription or any other request for a service, device, diet or lenses) needs a prescriber's.
 * Qualifications are the codes the credential carries: HL7 v2 table 0360 (degree/licence, as FHIR
 * `Practitioner.qualification.code` uses it) or the NUCC Health Care Provider Taxonomy.
 */
import type { FhirInteraction } from '../audit/create-audit-event.js';
import type { Qualification } from './practitioner-credential.js';

export const NUCC_TAXONOMY_SYSTEM = 'http://nucc.org/provider-taxonomy';
const V2_0360 = 'http://terminology.hl7.org/CodeSystem/v2-0360';

export type CredentialAction = 'access' | 'prescribe';

/** FHIR R4 request resources that order something for a patient (the "Request" pattern's orders). */
export const ORDER_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'MedicationRequest',
  'ServiceRequest',
  'DeviceRequest',
  'NutritionOrder',
  'VisionPrescription',
]);

interface QualificationRule {
  /** What the action is called in a refusal. */
  readonly label: string;
  /** v2-0360 codes that qualify (exact). */
  readonly v20360: ReadonlySet<string> | 'any';
  /** NUCC taxonomy codes that qualify, by prefix (a grouping's codes share its first digits). */
  readonly nuccPrefixes: readonly string[] | 'any';
}

export const ACTION_QUALIFICATIONS: Readonly<Record<CredentialAction, QualificationRule>> = {
  access: { label: 'access', v20360: 'any', nuccPrefixes: 'any' },
  prescribe: {
    label: 'prescribing',
    // Doctor of Medicine / Osteopathy, nurse practitioners (NP and its certified kinds), certified
    // nurse midwife, physician assistant: the licences with prescriptive authority in every US state.
    v20360: new Set(['MD', 'DO', 'NP', 'CNP', 'CANP', 'CPNP', 'FPNP', 'CNM', 'PA']),
    // 207*/208* allopathic and osteopathic physicians, 363L nurse practitioner, 363A physician
    // assistant, 367A advanced practice midwife, 1223 dentist, 152W optometrist, 213E podiatrist.
    nuccPrefixes: ['207', '208', '363L', '363A', '367A', '1223', '152W', '213E'],
  },
};

/** The action a write needs a licence for: an order's create or update is prescribing. */
export function credentialActionOf(interaction: FhirInteraction, resourceType: string): CredentialAction {
  return (interaction === 'create' || interaction === 'update') && ORDER_RESOURCE_TYPES.has(resourceType)
    ? 'prescribe'
    : 'access';
}

/** Whether the qualification allows the action (false for a code system the table does not know). */
export function isQualifiedFor(action: CredentialAction, qualification: Qualification): boolean {
  const rule = ACTION_QUALIFICATIONS[action];
  if (qualification.system === V2_0360) {
    return rule.v20360 === 'any' || rule.v20360.has(qualification.code);
  }
  if (qualification.system === NUCC_TAXONOMY_SYSTEM) {
    return rule.nuccPrefixes === 'any' || rule.nuccPrefixes.some((p) => qualification.code.startsWith(p));
  }
  return rule.v20360 === 'any' && rule.nuccPrefixes === 'any';
}

/** The refusal reason for an unqualified action, or undefined. No PHI: a role code and an action. */
export function evaluateQualification(
  action: CredentialAction,
  qualification: Qualification,
): string | undefined {
  if (isQualifiedFor(action, qualification)) return undefined;
  return `not-qualified (${ACTION_QUALIFICATIONS[action].label} needs a prescriber licence, not ${qualification.code})`;
}
