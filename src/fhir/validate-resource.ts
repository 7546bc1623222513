import { OperationOutcomeError, validateResource as validateWithMedplum } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { CareLedgerError } from '../errors/index.js';
import { checkResourceRules, UNKNOWN_CONTAINED_TYPE } from './check-resource-rules.js';
import type { FhirIssue, IssueType } from './fhir-issue.js';
import { ISSUE_TYPES } from './fhir-issue.js';
import { loadFhirDefinitions } from './load-fhir-definitions.js';

/** A decision, not an exception: `issues` holds warnings when valid, and at least one error when not. */
export type ValidationResult =
  | { readonly valid: true; readonly resource: Resource; readonly issues: readonly FhirIssue[] }
  | { readonly valid: false; readonly issues: readonly FhirIssue[] };

/**
 * Validates untrusted JSON against the FHIR R4 (4.0.1) base definitions: resourceType, element names,
 * JSON and primitive types (R4 regexes, real calendar dates), cardinality, choice types, invariants,
 * required bindings expandable from the definitions, contained resources, references, and primitive
 * extensions (`_element`). Loads the definitions on first call (about a second; see
 * {@link loadFhirDefinitions}). Never throws for any input.
 */
export function validateResource(resource: unknown): ValidationResult {
  const definitions = loadFhirDefinitions();
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    return invalid([issue('structure', 'Resource', 'A resource must be a JSON object')]);
  }
  const object = resource as Record<string, unknown>;
  const resourceType = object.resourceType;
  if (typeof resourceType !== 'string' || !definitions.resourceTypes.has(resourceType)) {
    return invalid([issue('structure', 'Resource.resourceType', 'Unknown or missing FHIR R4 resourceType')]);
  }

  const own = safely(() => checkResourceRules(object, definitions), resourceType);
  let medplum = safely(() => medplumIssues(object as unknown as Resource, resourceType), resourceType);
  // Medplum stops at an unknown contained resourceType, with no expression; ours names the element.
  if (own.some((found) => found.diagnostics === UNKNOWN_CONTAINED_TYPE)) {
    medplum = medplum.filter((found) => !found.diagnostics.startsWith('Unknown data type'));
  }
  const issues = dedupe([...own, ...medplum]);
  if (issues.some((found) => found.severity === 'error' || found.severity === 'fatal'))
    return invalid(issues);
  return { valid: true, resource: object as unknown as Resource, issues };
}

/**
 * Turns untrusted JSON into a FHIR R4 resource or throws CareLedgerError('ERR_INVALID_INPUT') whose
 * `details.issues` are {@link FhirIssue}s, ready for an OperationOutcome.
 */
export function parseResource(json: unknown): Resource {
  const result = validateResource(json);
  if (result.valid) return result.resource;
  const errors = result.issues.filter((found) => found.severity === 'error' || found.severity === 'fatal');
  throw new CareLedgerError('ERR_INVALID_INPUT', `FHIR resource is invalid: ${errors.length} error(s)`, {
    details: { issues: result.issues },
  });
}

function invalid(issues: readonly FhirIssue[]): ValidationResult {
  return { valid: false, issues };
}

function issue(code: IssueType, expression: string, diagnostics: string): FhirIssue {
  return { severity: 'error', code, diagnostics, expression: [expression] };
}

/** A bug or an unforeseen input shape in a checker must still end as a typed validation error. */
function safely(check: () => FhirIssue[], resourceType: string): FhirIssue[] {
  try {
    return check();
  } catch {
    return [issue('processing', resourceType, 'The resource could not be validated')];
  }
}

function medplumIssues(resource: Resource, resourceType: string): FhirIssue[] {
  let issues: OperationOutcomeIssue[];
  try {
    issues = validateWithMedplum(resource);
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    issues = error.outcome.issue ?? [];
  }
  return issues.flatMap((found) => fromMedplum(found, resourceType));
}

const ISSUE_TYPE_SET: ReadonlySet<string> = new Set(ISSUE_TYPES);

/**
 * Medplum issues that checkResourceRules replaces: the reference-type warning quotes the reference
 * (possibly an identifier); the choice-type ones are only warnings (R4 formats.html#choice makes them
 * errors) and name a bare JSON key; Medplum's base64 check rejects the whitespace R4 allows.
 */
const REPLACED_BY_OWN_CHECKS = [
  'Invalid reference:',
  'Conflicting choice of type properties',
  'Type of primitive extension does not match',
  'Invalid base64Binary format',
  // Ours walks the same tree with an own-keys index; Medplum's `in` test lets `toString` and
  // `constructor` through, and its message quotes whatever key was sent.
  'Invalid additional property',
  // Ours also catches `{}` and `{"id":"x"}` (ele-1), at the same element.
  'Invalid empty non-primitive value',
  'Invalid empty value',
];

/**
 * Medplum's issue texts are fixed strings plus element names. `[x]` is dropped so that expressions
 * are FHIRPath (`Observation.value`, not `Observation.value[x]`).
 */
function fromMedplum(found: OperationOutcomeIssue, resourceType: string): FhirIssue[] {
  const text = found.details?.text ?? 'Invalid resource';
  if (REPLACED_BY_OWN_CHECKS.some((prefix) => text.startsWith(prefix))) return [];
  const paths = found.expression ?? [];
  const expression = paths.length === 0 ? [resourceType] : paths.map((path) => path.replaceAll('[x]', ''));
  return [
    {
      severity: found.severity ?? 'error',
      code: refineCode(found.code, text),
      diagnostics: text,
      expression,
    },
  ];
}

function refineCode(code: string | undefined, text: string): IssueType {
  if (text === 'Missing required property') return 'required';
  if (
    /^Invalid .* format$|^Invalid JSON type|^String must contain|^Invalid numeric value|^Expected number/.test(
      text,
    )
  ) {
    return 'value';
  }
  return code !== undefined && ISSUE_TYPE_SET.has(code) ? (code as IssueType) : 'invalid';
}

/** Both passes may flag one element (e.g. a dateTime format); keep the first of each code and place. */
function dedupe(issues: readonly FhirIssue[]): FhirIssue[] {
  const seen = new Set<string>();
  return issues.filter((found) => {
    const key = `${found.severity}|${found.code}|${found.expression.join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
