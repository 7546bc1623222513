import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { CareLedgerError, type ErrorCode } from '../errors/index.js';
import { type FhirIssue, ISSUE_TYPES, type IssueSeverity, type IssueType } from './fhir-issue.js';

/**
 * One exhaustive table from error codes to the R4 IssueType and IssueSeverity of the issue that
 * reports them (`fatal` where the node, not the request, is at fault). Kept in line with the HTTP
 * status table of src/http/error-response.ts.
 */
export const OUTCOME_BY_ERROR_CODE: Readonly<
  Record<ErrorCode, { code: IssueType; severity: IssueSeverity }>
> = {
  ERR_INVALID_INPUT: { code: 'invalid', severity: 'error' },
  ERR_CONFIG: { code: 'exception', severity: 'fatal' },
  ERR_NOT_FOUND: { code: 'not-found', severity: 'error' },
  ERR_PRECONDITION_FAILED: { code: 'conflict', severity: 'error' },
  ERR_UNPROCESSABLE: { code: 'processing', severity: 'error' },
  ERR_NOT_ACCEPTABLE: { code: 'not-supported', severity: 'error' },
  ERR_UNSUPPORTED_MEDIA_TYPE: { code: 'not-supported', severity: 'error' },
  ERR_CHAIN_UNAVAILABLE: { code: 'transient', severity: 'fatal' },
  ERR_CHAIN_REVERTED: { code: 'processing', severity: 'error' },
  ERR_SIGNATURE_INVALID: { code: 'security', severity: 'error' },
  ERR_NONCE_USED: { code: 'duplicate', severity: 'error' },
  ERR_CLINICAL_WARNING: { code: 'business-rule', severity: 'warning' },
  ERR_NONCE_OUT_OF_ORDER: { code: 'conflict', severity: 'error' },
  ERR_NOT_MEMBER: { code: 'forbidden', severity: 'error' },
  ERR_OUTBOX: { code: 'exception', severity: 'fatal' },
  ERR_STORAGE: { code: 'transient', severity: 'fatal' },
  ERR_GONE: { code: 'deleted', severity: 'error' },
  ERR_DECRYPT: { code: 'exception', severity: 'fatal' },
  ERR_KEYSTORE: { code: 'exception', severity: 'fatal' },
  ERR_LOG_PROOF_INVALID: { code: 'invalid', severity: 'error' },
  ERR_LOG_CHECKPOINT_INVALID: { code: 'invalid', severity: 'error' },
  ERR_LOG_NOTE_INVALID: { code: 'invalid', severity: 'error' },
  ERR_LOG_EQUIVOCATION: { code: 'conflict', severity: 'error' },
  ERR_LOG_TILE_INVALID: { code: 'invalid', severity: 'error' },
  ERR_LOG_UNAVAILABLE: { code: 'transient', severity: 'fatal' },
  ERR_CONSENT_DENIED: { code: 'forbidden', severity: 'error' },
  ERR_UNAUTHENTICATED: { code: 'login', severity: 'error' },
  ERR_FORBIDDEN: { code: 'forbidden', severity: 'error' },
  ERR_RATE_LIMITED: { code: 'throttled', severity: 'error' },
  ERR_UPSTREAM: { code: 'transient', severity: 'error' },
  ERR_INTERNAL: { code: 'exception', severity: 'fatal' },
};

/** Stated in the OperationOutcome's `issue.details.coding`, so clients can switch on our code. */
export const ERROR_CODE_SYSTEM = 'urn:careledger:error-code';

const SEVERITIES: ReadonlySet<string> = new Set<IssueSeverity>(['fatal', 'error', 'warning', 'information']);
const ISSUE_TYPE_SET: ReadonlySet<string> = new Set(ISSUE_TYPES);

/** True for a value shaped like a {@link FhirIssue} (e.g. read back from `CareLedgerError.details`). */
export function isFhirIssue(value: unknown): value is FhirIssue {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.severity === 'string' &&
    SEVERITIES.has(candidate.severity) &&
    typeof candidate.code === 'string' &&
    ISSUE_TYPE_SET.has(candidate.code) &&
    typeof candidate.diagnostics === 'string' &&
    Array.isArray(candidate.expression) &&
    candidate.expression.every((path) => typeof path === 'string')
  );
}

function toOutcomeIssue(issue: FhirIssue): OperationOutcomeIssue {
  return {
    severity: issue.severity,
    code: issue.code,
    diagnostics: issue.diagnostics,
    ...(issue.expression.length > 0 ? { expression: [...issue.expression] } : {}),
  };
}

/** An R4 OperationOutcome holding the issues (R4 requires at least one: an empty list reads "all OK"). */
export function createOperationOutcome(issues: readonly FhirIssue[]): OperationOutcome {
  const issue =
    issues.length > 0
      ? issues.map(toOutcomeIssue)
      : [{ severity: 'information' as const, code: 'informational' as const, diagnostics: 'All OK' }];
  return { resourceType: 'OperationOutcome', issue };
}

/**
 * The OperationOutcome for any thrown value. A CareLedgerError keeps its message (written never to
 * hold PHI) and its code in `details`; its `details.issues`, when they are FHIR issues (as from
 * parseResource), become the outcome's issues. Anything else is reported as a generic internal error,
 * since its message may hold anything.
 */
export function createOperationOutcomeFromError(error: unknown): OperationOutcome {
  const known =
    error instanceof CareLedgerError
      ? error
      : new CareLedgerError('ERR_INTERNAL', 'internal error; the node logged the details');
  const { code, severity } = OUTCOME_BY_ERROR_CODE[known.code];
  const details = { coding: [{ system: ERROR_CODE_SYSTEM, code: known.code }], text: known.code };
  const nested = known.details.issues;
  const issues = Array.isArray(nested) && nested.every(isFhirIssue) ? nested : [];
  const expression = expressionOf(known.details, issues);
  // R4 issue.location: where in the text (a malformed body's `Line[n] Col[m]`, as HAPI words it).
  const location = [known.details.location].flat().filter((l): l is string => typeof l === 'string');
  const head: OperationOutcomeIssue = {
    severity,
    code,
    diagnostics: known.message,
    details,
    ...(expression.length > 0 ? { expression } : {}),
    ...(location.length > 0 ? { location } : {}),
  };
  return { resourceType: 'OperationOutcome', issue: [head, ...issues.map(toOutcomeIssue)] };
}

/**
 * What the first issue names (R4 OperationOutcome.issue.expression): the element (`details.expression`)
 * or the HTTP parameter or header (`details.parameter`) at fault, else every element its nested issues
 * name, so a client reading only the first issue still learns where the request went wrong.
 */
function expressionOf(details: Readonly<Record<string, unknown>>, issues: readonly FhirIssue[]): string[] {
  const named = [details.expression, details.parameter].flat().filter((e) => typeof e === 'string');
  if (named.length > 0) return named as string[];
  return [...new Set(issues.flatMap((issue) => issue.expression))];
}
