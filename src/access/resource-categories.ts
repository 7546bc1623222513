import type { R4ResourceType } from '../fhir/r4-resource-types.js';
import type { DataCategory } from '../ledger/index.js';

/**
 * The consent category of each R4 resource type: a consent must name it for a record of that type to
 * be shared (sensitivity labels in `meta.security` add more; see categorizeResource).
 * - 'by-content': Observation and DiagnosticReport are decided by their own `category`.
 * - null: not a patient's data (R4 puts the type in no patient compartment: the node's directory,
 *   definitions, conformance and knowledge resources), read under the node's staff rules.
 * A type that can be in a patient's compartment (isPatientCompartmentType) never maps to null: where
 * none fits well it takes 'clinical-notes', the widest clinical category, so a narrower grant never
 * releases it. Declared by hand (it is a policy), checked against all R4 types by the compiler.
 */
export const RESOURCE_CATEGORIES: Readonly<Record<R4ResourceType, DataCategory | 'by-content' | null>> = {
  // The patient and the people around them; the record's own bookkeeping.
  Patient: 'demographics',
  RelatedPerson: 'demographics',
  Person: 'demographics',
  Consent: 'demographics',
  Provenance: 'demographics',
  // AccessPolicy judges AuditEvents by role before any category is asked; listed for completeness.
  AuditEvent: 'demographics',
  // A Group is sealed under the node key (compartmentPatient) but names patients.
  Group: 'demographics',
  ResearchSubject: 'clinical-notes',

  Condition: 'conditions',
  AdverseEvent: 'conditions',
  BodyStructure: 'conditions',
  FamilyMemberHistory: 'conditions',
  RiskAssessment: 'conditions',

  MedicationRequest: 'medications',
  MedicationStatement: 'medications',
  MedicationDispense: 'medications',
  MedicationAdministration: 'medications',
  SupplyRequest: 'medications',
  SupplyDelivery: 'medications',

  AllergyIntolerance: 'allergies',

  Immunization: 'immunizations',
  ImmunizationEvaluation: 'immunizations',
  ImmunizationRecommendation: 'immunizations',

  Observation: 'by-content',
  DiagnosticReport: 'by-content',
  Specimen: 'laboratory',

  Procedure: 'procedures',
  ServiceRequest: 'procedures',
  Device: 'procedures',
  DeviceRequest: 'procedures',
  DeviceUseStatement: 'procedures',
  VisionPrescription: 'procedures',

  Encounter: 'encounters',
  EpisodeOfCare: 'encounters',
  Appointment: 'encounters',
  AppointmentResponse: 'encounters',
  Schedule: 'encounters',

  DocumentReference: 'clinical-notes',
  DocumentManifest: 'clinical-notes',
  Composition: 'clinical-notes',
  ClinicalImpression: 'clinical-notes',
  Communication: 'clinical-notes',
  CommunicationRequest: 'clinical-notes',
  DetectedIssue: 'clinical-notes',
  Flag: 'clinical-notes',
  List: 'clinical-notes',
  QuestionnaireResponse: 'clinical-notes',
  MeasureReport: 'clinical-notes',
  GuidanceResponse: 'clinical-notes',
  Basic: 'clinical-notes',
  // Through their content: a document Bundle, a Binary whose securityContext is the patient.
  Bundle: 'clinical-notes',
  Binary: 'clinical-notes',

  CarePlan: 'care-plans',
  CareTeam: 'care-plans',
  Goal: 'care-plans',
  NutritionOrder: 'care-plans',
  RequestGroup: 'care-plans',
  Task: 'care-plans',

  ImagingStudy: 'imaging',
  Media: 'imaging',

  // A sequence is genetic information whatever its labels say (v3 ActCode GDIS).
  MolecularSequence: 'genetic',

  Account: 'financial',
  ChargeItem: 'financial',
  Claim: 'financial',
  ClaimResponse: 'financial',
  Contract: 'financial',
  Coverage: 'financial',
  CoverageEligibilityRequest: 'financial',
  CoverageEligibilityResponse: 'financial',
  EnrollmentRequest: 'financial',
  ExplanationOfBenefit: 'financial',
  Invoice: 'financial',

  // The node's directory: organisations, people at work, places, services, products.
  Organization: null,
  OrganizationAffiliation: null,
  Practitioner: null,
  PractitionerRole: null,
  Location: null,
  HealthcareService: null,
  Endpoint: null,
  InsurancePlan: null,
  Slot: null,
  Medication: null,
  MedicationKnowledge: null,
  Substance: null,
  SubstanceNucleicAcid: null,
  SubstancePolymer: null,
  SubstanceProtein: null,
  SubstanceReferenceInformation: null,
  SubstanceSourceMaterial: null,
  SubstanceSpecification: null,
  BiologicallyDerivedProduct: null,
  DeviceDefinition: null,
  DeviceMetric: null,
  MedicinalProduct: null,
  MedicinalProductAuthorization: null,
  MedicinalProductContraindication: null,
  MedicinalProductIndication: null,
  MedicinalProductIngredient: null,
  MedicinalProductInteraction: null,
  MedicinalProductManufactured: null,
  MedicinalProductPackaged: null,
  MedicinalProductPharmaceutical: null,
  MedicinalProductUndesirableEffect: null,
  CatalogEntry: null,
  ChargeItemDefinition: null,
  // Exchanges between organisations about claims and payments, not about one patient (R4).
  EnrollmentResponse: null,
  PaymentNotice: null,
  PaymentReconciliation: null,
  MessageHeader: null,
  Linkage: null,
  VerificationResult: null,
  // Definitions, knowledge and research designs.
  ActivityDefinition: null,
  EventDefinition: null,
  Evidence: null,
  EvidenceVariable: null,
  EffectEvidenceSynthesis: null,
  RiskEvidenceSynthesis: null,
  Library: null,
  Measure: null,
  ObservationDefinition: null,
  PlanDefinition: null,
  Questionnaire: null,
  ResearchDefinition: null,
  ResearchElementDefinition: null,
  ResearchStudy: null,
  SpecimenDefinition: null,
  // Conformance and terminology.
  CapabilityStatement: null,
  CodeSystem: null,
  CompartmentDefinition: null,
  ConceptMap: null,
  ExampleScenario: null,
  GraphDefinition: null,
  ImplementationGuide: null,
  MessageDefinition: null,
  NamingSystem: null,
  OperationDefinition: null,
  SearchParameter: null,
  StructureDefinition: null,
  StructureMap: null,
  Subscription: null,
  TerminologyCapabilities: null,
  TestReport: null,
  TestScript: null,
  ValueSet: null,
  // Never stored (UNSTORED_RESOURCE_TYPES).
  OperationOutcome: null,
  Parameters: null,
};
