import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { CareLedgerError } from '../errors/index.js';
import { checkResourceRules, UNKNOWN_CONTAINED_TYPE } from './check-resource-rules.js';
import type { FhirIssue, IssueType } from './fhir-issue.js';
import { ISSUE_TYPES } from './fhir-issue.js';
import { type FhirDefinitions, loadFhirDefinitions } from './load-fhir-definitions.js';
import type { LoadedProfile, ProfileRegistry } from './profiles/load-profiles.js';
import {
  validateResourceAgainstBase,
  validateTypedValueAgainstSchema,
} from './validator/validate-against-schema.js';

/** A decision, not an exception: `issues` holds warnings when valid, and at least one error when not. */
export type ValidationResult =
  | { readonly valid: true; readonly resource: Resource; readonly issues: readonly FhirIssue[] }
  | { readonly valid: false; readonly issues: readonly FhirIssue[] };

export interface ValidateOptions {
  /**
   * Canonical URLs (`url` or `url|version`) to validate against besides the `meta.profile` claims
   * (`$validate?profile=`). One that is not loaded here is an error; an unknown claim is a warning.
   */
  readonly profiles?: readonly string[];
}

/**
 * Validates untrusted JSON against the FHIR R4 (4.0.1) base definitions: resourceType, element names,
 * JSON and primitive types (R4 regexes, real calendar dates), cardinality, choice types, invariants,
 * required bindings expandable from the definitions, contained resources, references, primitive
 * extensions (`_element`), empty arrays and objects, and nulls; then against every loaded profile the
 * resource claims in `meta.profile` and those in `options.profiles`. Loads the definitions on first
 * call (about a second; see {@link loadFhirDefinitions}). Never throws for any input.
 */
export function validateResource(resource: unknown, options: ValidateOptions = {}): ValidationResult {
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
  // A profile's snapshot holds every element of its base type with constraints at least as strict
  // (R4 profiling.html §5.1.0.5), and Medplum crawls the resource against it exactly as against the
  // base: checked against a loaded profile of its own type, the base pass would find nothing more and
  // cost as much again (a quarter of a Synthea import's validation, issue 16).
  const profiled = checksOwnTypeProfile(object, resourceType, definitions, options);
  let medplum = profiled
    ? []
    : safely(() => medplumIssues(object as unknown as Resource, resourceType), resourceType);
  let profiles = safely(() => profileIssues(object, resourceType, definitions, options), resourceType);
  // Medplum stops at an unknown contained resourceType, with no expression; ours names the element.
  if (own.some((found) => found.diagnostics === UNKNOWN_CONTAINED_TYPE)) {
    const known = (found: FhirIssue) => !found.diagnostics.startsWith('Unknown data type');
    medplum = medplum.filter(known);
    profiles = profiles.filter(known);
  }
  const issues = dedupe([...own, ...medplum, ...profiles]);
  if (issues.some((found) => found.severity === 'error' || found.severity === 'fatal'))
    return invalid(issues);
  return { valid: true, resource: object as unknown as Resource, issues };
}

/** Whether profileIssues will check the resource against a loaded profile of its own type. */
function checksOwnTypeProfile(
  resource: Record<string, unknown>,
  resourceType: string,
  definitions: FhirDefinitions,
  options: ValidateOptions,
): boolean {
  const meta = resource.meta as { profile?: unknown } | undefined;
  const claimed = Array.isArray(meta?.profile) ? meta.profile : [];
  return [...claimed, ...(options.profiles ?? [])].some(
    (canonical) =>
      typeof canonical === 'string' && definitions.profiles.get(canonical)?.type === resourceType,
  );
}

/** What a canonical may look like when it is echoed in a diagnostic (it came from the client). */
const CANONICAL = /^https?:\/\/[\x21-\x7e]{1,300}$/;

/**
 * R4 §2.4.4.3 (meta.profile) and resource-operation-validate.html: a claimed profile that is loaded
 * is checked; an explicit `profile` parameter must be loaded.
 */
function profileIssues(
  resource: Record<string, unknown>,
  resourceType: string,
  definitions: FhirDefinitions,
  options: ValidateOptions,
): FhirIssue[] {
  const meta = resource.meta as { profile?: unknown } | undefined;
  const claimed = Array.isArray(meta?.profile) ? meta.profile : [];
  const issues: FhirIssue[] = [];
  const checked = new Set<string>();
  const check = (canonical: string, expression: string[], explicit: boolean) => {
    const profile = definitions.profiles.get(canonical);
    if (profile === undefined) {
      const named = CANONICAL.test(canonical) ? ` ${canonical}` : '';
      issues.push({
        severity: explicit ? 'error' : 'warning',
        code: 'not-supported',
        diagnostics: `Profile${named} is not loaded on this node${explicit ? '' : ', so it was not checked'}`,
        expression,
      });
      return;
    }
    if (checked.has(profile.url)) return;
    checked.add(profile.url);
    if (profile.type !== resourceType) {
      issues.push({
        severity: 'error',
        code: 'structure',
        diagnostics: `Profile ${profile.url} constrains ${profile.type}, not ${resourceType}`,
        expression: expression.length > 0 ? expression : [resourceType],
      });
      return;
    }
    issues.push(...conformanceIssues(resource, profile, definitions.profiles, 0));
  };
  claimed.forEach((canonical, i) => {
    if (typeof canonical === 'string') check(canonical, [`${resourceType}.meta.profile[${i}]`], false);
  });
  for (const canonical of options.profiles ?? []) check(canonical, [], true);
  return issues;
}

/** Nested resources are checked against their slices' profiles; deeper than this is refused. */
const MAX_PROFILE_DEPTH = 3;
/**
 * Entries checked against a slice's profile per slice: each check is a full profile validation (about
 * 10 ms for an IPS Composition), so an 8 MB Bundle of Compositions claiming Bundle-uv-ips would
 * otherwise cost minutes of CPU. Past this many candidates of the slice's type, the Bundle is refused.
 */
const MAX_SLICE_CANDIDATES = 20;

/**
 * Medplum's validation with the profile's snapshot (cardinality, fixed and pattern values, slices
 * by value, pattern and type, the profile's invariants), plus the `profile`-discriminated slices of
 * contained resources that Medplum cannot evaluate (IPS Bundle.entry: exactly one Composition
 * conforming to Composition-uv-ips, one Patient conforming to Patient-uv-ips).
 */
function conformanceIssues(
  resource: Record<string, unknown>,
  profile: LoadedProfile,
  registry: ProfileRegistry,
  depth: number,
): FhirIssue[] {
  const resourceType = profile.type;
  let found: OperationOutcomeIssue[];
  try {
    found = validateTypedValueAgainstSchema({ type: profile.schemaKey, value: resource });
  } catch (error) {
    if (!(error instanceof OperationOutcomeError)) throw error;
    found = error.outcome.issue ?? [];
  }
  const issues = found.flatMap((one) => fromMedplum(one, resourceType));
  for (const slicing of profile.resourceSlicings) {
    const items = resource[slicing.element];
    const list = Array.isArray(items) ? items : [];
    for (const slice of slicing.slices) {
      if (slice.min === 0 && !Number.isFinite(slice.max)) continue;
      const matched: number[] = [];
      const failing: FhirIssue[] = [];
      let candidates = 0;
      list.forEach((item, i) => {
        const nested = (item as { resource?: unknown } | null)?.resource as
          | Record<string, unknown>
          | undefined;
        if (typeof nested !== 'object' || nested === null || nested.resourceType !== slice.resourceType)
          return;
        candidates += 1;
        if (candidates > MAX_SLICE_CANDIDATES) return;
        const prefix = `${resourceType}.${slicing.element}[${i}].resource`;
        const errors = slice.profiles.flatMap((url) => {
          const target = registry.get(url);
          if (target === undefined) return [];
          if (depth >= MAX_PROFILE_DEPTH) {
            return [{ ...issue('too-costly', prefix, 'Profiles nested too deeply'), expression: [prefix] }];
          }
          return conformanceIssues(nested, target, registry, depth + 1)
            .filter((one) => one.severity === 'error' || one.severity === 'fatal')
            .map((one) => ({
              ...one,
              expression: one.expression.map((e) => rebase(e, target.type, prefix)),
            }));
        });
        if (errors.length === 0) matched.push(i);
        else failing.push(...errors);
      });
      if (candidates > MAX_SLICE_CANDIDATES) {
        issues.push(
          distinct(
            issue(
              'too-costly',
              `${resourceType}.${slicing.element}`,
              `Slice ${slice.name}: more than ${MAX_SLICE_CANDIDATES} ${slice.resourceType ?? 'resource'} entries to check against the slice's profile`,
            ),
          ),
        );
        continue;
      }
      if (matched.length >= slice.min && matched.length <= slice.max) continue;
      const range = `${slice.min}..${Number.isFinite(slice.max) ? slice.max : '*'}`;
      issues.push(
        distinct(
          issue(
            'structure',
            `${resourceType}.${slicing.element}`,
            `Slice ${slice.name}: expected ${range} ${slice.resourceType ?? 'resource'}(s) conforming to ${slice.profiles.join(', ') || 'the slice'}, found ${matched.length}`,
          ),
        ),
        ...failing.map(distinct),
      );
    }
  }
  return issues;
}

/** `Composition.section[0]` validated alone → `Bundle.entry[0].resource.section[0]`. */
function rebase(expression: string, type: string, prefix: string): string {
  if (expression === type) return prefix;
  return expression.startsWith(`${type}.`) ? `${prefix}${expression.slice(type.length)}` : prefix;
}

/**
 * Turns untrusted JSON into a FHIR R4 resource or throws CareLedgerError('ERR_INVALID_INPUT') whose
 * `details.issues` are {@link FhirIssue}s, ready for an OperationOutcome.
 */
export function parseResource(json: unknown, options: ValidateOptions = {}): Resource {
  const result = validateResource(json, options);
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
    issues = validateResourceAgainstBase(resource);
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

/**
 * Issues of the profile checks that say something no other issue at that place says (a slice count
 * next to Medplum's count of the same element): {@link dedupe} keeps them.
 */
const DISTINCT = new WeakSet<FhirIssue>();

function distinct(found: FhirIssue): FhirIssue {
  DISTINCT.add(found);
  return found;
}

/** Both passes may flag one element (e.g. a dateTime format); keep the first of each code and place. */
function dedupe(issues: readonly FhirIssue[]): FhirIssue[] {
  const seen = new Set<string>();
  return issues.filter((found) => {
    if (DISTINCT.has(found)) return true;
    const key = `${found.severity}|${found.code}|${found.expression.join(',')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
