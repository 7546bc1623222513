/** Code systems a benefit policy may name, and the FHIR system URIs a claim carries for them. */
export const CODE_SYSTEMS = {
  CPT: 'http://www.ama-assn.org/go/cpt',
  HCPCS: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  SNOMED: 'http://snomed.info/sct',
  /** Vaccines administered (Synthea's immunization claim lines). */
  CVX: 'http://hl7.org/fhir/sid/cvx',
  'ICD-10': 'http://hl7.org/fhir/sid/icd-10-cm',
} as const;

export type CodeSystemName = keyof typeof CODE_SYSTEMS;

/** Systems valid for services (Claim.item.productOrService) and for diagnoses (Claim.diagnosis). */
export const SERVICE_SYSTEMS: readonly CodeSystemName[] = ['CPT', 'HCPCS', 'SNOMED', 'CVX'];
export const DIAGNOSIS_SYSTEMS: readonly CodeSystemName[] = ['ICD-10', 'SNOMED'];

export function codeSystemForUri(uri: string | undefined): CodeSystemName | undefined {
  for (const [name, value] of Object.entries(CODE_SYSTEMS)) if (value === uri) return name as CodeSystemName;
  return undefined;
}

export const ADJUDICATION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/adjudication';
export const ADJUDICATION_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/adjudication-reason';
/** CareLedger's own codes: reasons and claim-level errors FHIR's code systems have no code for. */
export const CARELEDGER_ADJUDICATION_SYSTEM = 'https://careledger.dev/fhir/CodeSystem/adjudication';
export const CARELEDGER_REASON_SYSTEM = 'https://careledger.dev/fhir/CodeSystem/adjudication-reason';
export const CARELEDGER_CLAIM_ERROR_SYSTEM = 'https://careledger.dev/fhir/CodeSystem/claim-error';
export const AUTHORIZED_CODE_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/authorized-code';
export const BENEFIT_POLICY_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/benefit-policy';
export const CLAIM_COMMITMENT_SYSTEM = 'https://careledger.dev/fhir/sid/claim-commitment';
