export {
  createValueSetExpander,
  type ValueSetExpander,
  type ValueSetExpansion,
} from './create-value-set-expander.js';
export { type FhirIssue, ISSUE_TYPES, type IssueSeverity, type IssueType } from './fhir-issue.js';
export { type FhirDefinitions, loadFhirDefinitions, loadFhirProfiles } from './load-fhir-definitions.js';
export {
  createOperationOutcome,
  createOperationOutcomeFromError,
  ERROR_CODE_SYSTEM,
  isFhirIssue,
  OUTCOME_BY_ERROR_CODE,
} from './operation-outcome.js';
export { parseStrictJson } from './parse-strict-json.js';
export {
  BUILT_IN_PROFILE_PACKAGES,
  type LoadedProfile,
  loadProfileFolder,
  ProfileRegistry,
} from './profiles/load-profiles.js';
export {
  parseResource,
  type ValidateOptions,
  type ValidationResult,
  validateResource,
} from './validate-resource.js';
