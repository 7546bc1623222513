export {
  DEID_METHODS,
  type DeidMethod,
  type DeidProfile,
  type DeidRule,
  evaluateDeidRule,
  NODE_TYPES,
  type NodeType,
} from './deid-profile.js';
export {
  AGE_GROUP_EXTENSION_URL,
  type DeidentifyOptions,
  deidentifyResource,
  type FhirResource,
  generalizePostalCode,
} from './deidentify-resource.js';
export {
  checkKAnonymity,
  createQuasiIdentifiedRecord,
  type KAnonymityResult,
  type QuasiIdentifiedRecord,
} from './k-anonymity.js';
export { parseDeidProfile } from './parse-deid-profile.js';
export { SAFE_HARBOR_IDENTIFIERS, verifySafeHarborCoverage } from './safe-harbor-identifiers.js';
export {
  SAFE_HARBOR_PROFILE,
  SAFE_HARBOR_PROFILE_JSON,
  SAFE_HARBOR_RESTRICTED_ZIP3,
} from './safe-harbor-profile.js';
export {
  GENERAL_RESEARCH_ADDRESS,
  type ReleaseAnchor,
  type Study,
  type StudyStatus,
  studyGrantee,
} from './study.js';
export {
  createResourcePseudonym,
  derivePatientShiftDays,
  MIN_STUDY_KEY_BYTES,
  PSEUDONYM_IDENTIFIER_SYSTEM,
} from './study-pseudonym.js';
