import type { Filter } from '@medplum/core';
import type { SearchParam } from './load-search-parameters.js';
import { parseNearValues } from './near-search.js';

/** How a parameter of type `special` is planned: a memory-stage filter, or why it is not honoured. */
export type SpecialPlan =
  | { readonly filter: Filter }
  | { readonly unsupported: string }
  | { readonly invalid: string };

/**
 * Special parameters (R4 §3.1.1.4.x "special"): each has its own syntax and its own matching. The one
 * served is Location's `near` (R4 location.html#search): no index rows (a blind index cannot compare
 * distances), so every Location the other parameters leave is decided in memory (matchesNear).
 */
export function planSpecialParameter(
  resourceType: string,
  param: SearchParam,
  modifier: string,
  value: string,
): SpecialPlan {
  if (resourceType === 'Location' && param.code === 'near') {
    if (modifier !== '') return { unsupported: `modifier :${modifier} is not supported on near` };
    if (parseNearValues(value) === undefined)
      return { invalid: 'expected latitude|longitude|distance|units (WGS84 degrees, a UCUM length)' };
    return { filter: { code: 'near', operator: 'eq' as Filter['operator'], value } };
  }
  return { unsupported: 'special search parameters are not supported' };
}
