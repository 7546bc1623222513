/** R4 IssueSeverity (http://hl7.org/fhir/R4/valueset-issue-severity.html), a required binding. */
export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** R4 IssueType (http://hl7.org/fhir/R4/valueset-issue-type.html), a required binding. */
export const ISSUE_TYPES = [
  'invalid',
  'structure',
  'required',
  'value',
  'invariant',
  'security',
  'login',
  'unknown',
  'expired',
  'forbidden',
  'suppressed',
  'processing',
  'not-supported',
  'duplicate',
  'multiple-matches',
  'not-found',
  'deleted',
  'too-long',
  'code-invalid',
  'extension',
  'too-costly',
  'business-rule',
  'conflict',
  'transient',
  'lock-error',
  'no-store',
  'exception',
  'timeout',
  'incomplete',
  'throttled',
  'informational',
] as const;

export type IssueType = (typeof ISSUE_TYPES)[number];

/**
 * One finding, shaped as an R4 `OperationOutcome.issue`. `expression` holds FHIRPath of the element
 * (R4 §2.13 OperationOutcome.issue.expression), e.g. `Patient.name[0].given[1]`; choice elements are
 * named without their type suffix (`Observation.value`). `diagnostics` never echoes element values,
 * which may be PHI.
 */
export interface FhirIssue {
  readonly severity: IssueSeverity;
  readonly code: IssueType;
  readonly diagnostics: string;
  readonly expression: readonly string[];
}
