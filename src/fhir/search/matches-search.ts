import type { Filter } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import {
  evaluateSearchParam,
  extractDateRanges,
  extractQuantities,
  extractReferences,
  extractStrings,
  extractTokens,
  extractTokenTexts,
  extractUris,
  normalizeReference,
  type SearchQuantity,
} from './extract-search-values.js';
import { getSearchParam } from './load-search-parameters.js';
import { normalizeSearchString } from './normalize-search-string.js';
import { type DateRange, parseDateRange } from './parse-date-range.js';
import type { SearchPlan } from './plan-search.js';
import {
  parseSearchNumber,
  type SearchNumber,
  type SearchPrefix,
  splitEscaped,
  splitPrefix,
  splitToken,
  unescapeSearchValue,
} from './search-value-syntax.js';

/**
 * The memory stage: does a decrypted candidate satisfy every filter of `plan.residual`? Written to
 * R4 §3.1.1 rather than delegated to Medplum's matchesSearchRequest, which differs from the spec
 * in the ways test/fhir/search/matches-search.test.ts pins (string contains, date ranges, prefixes,
 * number and quantity, reference forms, token text). Never throws.
 */
export function matchesSearch(resource: Resource, plan: Pick<SearchPlan, 'residual' | 'now'>): boolean {
  if (resource.resourceType !== plan.residual.resourceType) return false;
  return (plan.residual.filters ?? []).every((filter) => matchesFilter(resource, filter, plan.now));
}

function matchesFilter(resource: Resource, filter: Filter, now: number): boolean {
  const param = getSearchParam(resource.resourceType, filter.code);
  if (param === undefined) return false;
  const values = evaluateSearchParam(resource, param);
  if (filter.operator === 'missing') return (values.length === 0) === (filter.value === 'true');
  const alternatives = splitEscaped(filter.value, ',');
  switch (param.type) {
    case 'token': {
      if (filter.operator === 'text') {
        const texts = extractTokenTexts(values).map(normalizeSearchString);
        return alternatives.some((query) =>
          texts.some((text) => startsWithWord(text, normalizedQuery(query))),
        );
      }
      const tokens = extractTokens(values);
      const found = alternatives.some((query) => {
        const { system, code } = splitToken(query);
        const wantCode = code.toLowerCase();
        const wantSystem = system?.toLowerCase();
        if (wantSystem === '' && wantCode === '') return false;
        return tokens.some((token) => {
          // R4 §3.1.1.4.10: `|code` requires no system, `system|` any code in that system.
          if (wantSystem === undefined) return token.code === wantCode;
          if (wantSystem === '') return token.system === undefined && token.code === wantCode;
          return token.system === wantSystem && (wantCode === '' || token.code === wantCode);
        });
      });
      return filter.operator === 'not' ? !found : found;
    }
    case 'string': {
      const strings = extractStrings(values);
      if (filter.operator === 'exact') {
        return alternatives.some((query) => strings.includes(unescapeSearchValue(query)));
      }
      const normalized = strings.map(normalizeSearchString);
      if (filter.operator === 'contains') {
        return alternatives.some((query) =>
          normalized.some((value) => value.includes(normalizedQuery(query))),
        );
      }
      return alternatives.some((query) =>
        normalized.some((value) => startsWithWord(value, normalizedQuery(query))),
      );
    }
    case 'reference': {
      const references = extractReferences(values);
      return alternatives.some((query) => {
        const wanted = normalizeReference(unescapeSearchValue(query)).normalized;
        return references.some((reference) => reference.normalized === wanted || reference.id === wanted);
      });
    }
    case 'uri': {
      const uris = extractUris(values);
      return alternatives.some((query) => uris.includes(unescapeSearchValue(query)));
    }
    case 'date': {
      const ranges = extractDateRanges(values);
      return alternatives.some((query) => {
        const split = splitPrefix(query);
        const search = split === undefined ? undefined : parseDateRange(split.value);
        if (split === undefined || search === undefined) return false;
        const prefix = split.prefix ?? (filter.operator as SearchPrefix);
        return ranges.some((target) => matchesDateRange(prefix, search, target, now));
      });
    }
    case 'number':
    case 'quantity': {
      const quantities = extractQuantities(values);
      return alternatives.some((query) => {
        const split = splitPrefix(query);
        const search =
          split === undefined ? undefined : parseSearchNumber(split.value, param.type === 'quantity');
        if (split === undefined || search === undefined) return false;
        const prefix = split.prefix ?? (filter.operator as SearchPrefix);
        return quantities.some((target) => matchesNumber(prefix, search, target));
      });
    }
    default:
      return false;
  }
}

function normalizedQuery(query: string): string {
  return normalizeSearchString(unescapeSearchValue(query));
}

/** String search (R4 §3.1.1.4.7) is starts-with; CareLedger also accepts the start of any word. */
function startsWithWord(value: string, query: string): boolean {
  return value.startsWith(query) || value.includes(` ${query}`);
}

/**
 * R4 §3.1.1.4.2, with both ranges half-open [start, end): `eq` — the search range fully contains the
 * target; `gt` — the range above the search value intersects the target; `ge` — `gt` or `eq`;
 * `sa` — the target starts at or after the end of the search range; `ap` — the ranges overlap once the
 * search range is widened by 10% of its distance from now.
 */
export function matchesDateRange(
  prefix: SearchPrefix,
  search: DateRange,
  target: DateRange,
  now: number,
): boolean {
  const contains = search.start <= target.start && target.end <= search.end;
  switch (prefix) {
    case 'eq':
      return contains;
    case 'ne':
      return !contains;
    case 'gt':
      return target.end > search.end;
    case 'lt':
      return target.start < search.start;
    case 'ge':
      return target.end > search.end || contains;
    case 'le':
      return target.start < search.start || contains;
    case 'sa':
      return target.start >= search.end;
    case 'eb':
      return target.end <= search.start;
    case 'ap': {
      const gap = 0.1 * Math.abs(now - search.start);
      return target.start < search.end + gap && target.end > search.start - gap;
    }
  }
}

/** R4 §3.1.1.4.1 (number) and §3.1.1.4.8 (quantity): `eq` honours the implicit range of the precision. */
function matchesNumber(prefix: SearchPrefix, search: SearchNumber, target: SearchQuantity): boolean {
  if (search.system !== undefined && target.system !== search.system) return false;
  if (search.code !== undefined && target.code !== search.code && target.unit !== search.code) return false;
  const value = target.value;
  const low = search.value - search.halfWidth;
  const high = search.value + search.halfWidth;
  switch (prefix) {
    case 'eq':
      return value >= low && value < high;
    case 'ne':
      return !(value >= low && value < high);
    case 'gt':
    case 'sa':
      return value > search.value;
    case 'lt':
    case 'eb':
      return value < search.value;
    case 'ge':
      return value >= low;
    case 'le':
      return value < high;
    case 'ap':
      return Math.abs(value - search.value) <= Math.abs(search.value) * 0.1 + search.halfWidth;
  }
}
