export {
  expandValueSet,
  layeredSource,
  referencedCanonicals,
  stripVersion,
  type TerminologySource,
  UNEXPANDABLE,
  type ValueSetExpansionResult,
} from './expand-value-set.js';
export {
  createExpansionCache,
  createValueSetLookup,
  MAX_CACHED_EXPANSIONS,
  shippedTerminologySource,
  shippedValueSetLookup,
  type ValueSetLookup,
} from './value-set-lookup.js';
