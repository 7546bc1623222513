import { CareLedgerError } from '../errors/index.js';
import type { FhirIssue } from './fhir-issue.js';
import { implausibleValues } from './plausibility.js';

/**
 * Refuses a resource a client writes whose clinical values no person can have (issue 22 item 2), as
 * ERR_INVALID_INPUT with OperationOutcome issues whose expression names the element.
 */
export function assertPlausible(resource: Record<string, unknown>): void {
  const found = implausibleValues(resource);
  if (found.length === 0) return;
  const issues: FhirIssue[] = found.map((f) => ({
    severity: 'error',
    code: 'value',
    diagnostics: f.diagnostics,
    expression: [f.expression],
  }));
  throw new CareLedgerError('ERR_INVALID_INPUT', `FHIR resource is invalid: ${issues.length} error(s)`, {
    details: { issues },
  });
}
