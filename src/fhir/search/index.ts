export { extractSearchIndexEntries } from './extract-search-index-entries.js';
export { normalizeReference, type SearchReference } from './extract-search-values.js';
export {
  getSearchParam,
  isSearchableResourceType,
  loadSearchParameters,
  SEARCHABLE_RESOURCE_TYPES,
  type SearchableResourceType,
  type SearchParam,
  type SearchParamType,
} from './load-search-parameters.js';
export { matchesDateRange, matchesSearch } from './matches-search.js';
export { normalizeSearchString } from './normalize-search-string.js';
export { type DateRange, parseDateRange } from './parse-date-range.js';
export {
  DEFAULT_SEARCH_COUNT,
  type IndexFilter,
  MAX_SEARCH_COUNT,
  type PlanSearchOptions,
  planSearch,
  type SearchHandling,
  type SearchPlan,
} from './plan-search.js';
export {
  hashIndexValue,
  type KeyedHash,
  type SearchIndexEntry,
  type SearchIndexKind,
} from './search-index-entry.js';
export { SEARCH_PREFIXES, type SearchPrefix } from './search-value-syntax.js';
export { sortResources } from './sort-resources.js';
