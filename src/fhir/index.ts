export {
  createValueSetExpander,
  type ValueSetExpander,
  type ValueSetExpansion,
} from './create-value-set-expander.js';
export { type FhirIssue, ISSUE_TYPES, type IssueSeverity, type IssueType } from './fhir-issue.js';
export { type FhirDefinitions, loadFhirDefinitions } from './load-fhir-definitions.js';
export {
  createOperationOutcome,
  createOperationOutcomeFromError,
  ERROR_CODE_SYSTEM,
  isFhirIssue,
  OUTCOME_BY_ERROR_CODE,
} from './operation-outcome.js';
export { parseResource, type ValidationResult, validateResource } from './validate-resource.js';
