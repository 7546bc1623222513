export {
  type ExpandOptions,
  expandValueSet,
  isExpansionMember,
  layeredSource,
  referencedCanonicals,
  stripVersion,
  type TerminologySource,
  UNEXPANDABLE,
  type ValueSetExpansionResult,
} from './expand-value-set.js';
export {
  collectDisplays,
  type ExpansionRequest,
  type ExpansionStamp,
  expansionResource,
  MAX_EXPANSION_COUNT,
} from './expansion-page.js';
export {
  checkLaterValueSetLookup,
  createExpansionCache,
  createValueSetLookup,
  MAX_CACHED_EXPANSIONS,
  shippedTerminologySource,
  shippedValueSetLookup,
  type ValueSetLookup,
} from './value-set-lookup.js';
