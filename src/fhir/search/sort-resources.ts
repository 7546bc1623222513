import type { SortRule } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import {
  evaluateSearchParam,
  extractDateRanges,
  extractQuantities,
  extractReferences,
  extractStrings,
  extractTokens,
  extractUris,
} from './extract-search-values.js';
import { getSearchParam } from './load-search-parameters.js';
import { normalizeSearchString } from './normalize-search-string.js';

type SortKey = number | string | undefined;

/**
 * Sorts by `_sort` rules (R4 §3.1.1.6): the first rule decides, later rules break ties, then the input
 * order (the sort is stable). A multi-valued element sorts by its lowest value ascending and its highest
 * descending; dates by range start ascending and range end descending. Resources without a value sort
 * last either way. Returns a new array.
 */
export function sortResources<T extends Resource>(resources: readonly T[], sort: readonly SortRule[]): T[] {
  if (sort.length === 0) return [...resources];
  const keyed = resources.map((resource, index) => ({
    resource,
    index,
    keys: sort.map((rule) => sortKey(resource, rule)),
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < sort.length; i++) {
      const order = compareKeys(a.keys[i], b.keys[i], sort[i]?.descending === true);
      if (order !== 0) return order;
    }
    return a.index - b.index;
  });
  return keyed.map((entry) => entry.resource);
}

function compareKeys(a: SortKey, b: SortKey, descending: boolean): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  const order = a < b ? -1 : a > b ? 1 : 0;
  return descending ? -order : order;
}

function sortKey(resource: Resource, rule: SortRule): SortKey {
  const param = getSearchParam(resource.resourceType, rule.code);
  if (param === undefined) return undefined;
  const values = evaluateSearchParam(resource, param);
  const descending = rule.descending === true;
  let keys: (number | string)[];
  switch (param.type) {
    case 'date':
      keys = extractDateRanges(values).map((range) => (descending ? range.end : range.start));
      break;
    case 'number':
    case 'quantity':
      keys = extractQuantities(values).map((quantity) => quantity.value);
      break;
    case 'string':
      keys = extractStrings(values).map(normalizeSearchString);
      break;
    case 'token':
      keys = extractTokens(values).map((token) => token.code);
      break;
    case 'reference':
      keys = extractReferences(values).map((reference) => reference.normalized);
      break;
    case 'uri':
      keys = extractUris(values);
      break;
    default:
      keys = [];
  }
  if (keys.length === 0) return undefined;
  return keys.reduce((best, key) => ((descending ? key > best : key < best) ? key : best));
}
