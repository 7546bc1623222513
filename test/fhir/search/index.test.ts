import { describe, expect, it } from 'vitest';
import * as search from '../../../src/fhir/search/index.js';

describe('src/fhir/search public face', () => {
  it('pins the exports', () => {
    expect(Object.keys(search).sort()).toEqual([
      'DEFAULT_SEARCH_COUNT',
      'MAX_SEARCH_COUNT',
      'SEARCHABLE_RESOURCE_TYPES',
      'SEARCH_PREFIXES',
      'extractSearchIndexEntries',
      'getSearchParam',
      'hashIndexValue',
      'isSearchableResourceType',
      'loadSearchParameters',
      'matchesDateRange',
      'matchesSearch',
      'normalizeReference',
      'normalizeSearchString',
      'parseDateRange',
      'planSearch',
      'sortResources',
    ]);
  });
});
