import { evalFhirPathTyped, type Filter, type TypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { shippedValueSetLookup } from '../terminology/index.js';
import { isSubsumedBy } from './code-system-hierarchy.js';
import { getCompositeComponents } from './composite-components.js';
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
import { getSearchParam, type SearchParamType } from './load-search-parameters.js';
import { matchesNear } from './near-search.js';
import { normalizeSearchString } from './normalize-search-string.js';
import { type DateRange, parseDateRange } from './parse-date-range.js';
import type { SearchPlan } from './plan-search.js';
import { isValueSetMember, type ValueSetMembers, valueSetMembersOf } from './plan-value-set.js';
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
export function matchesSearch(
  resource: Resource,
  plan: Pick<SearchPlan, 'residual' | 'now'> &
    Partial<Pick<SearchPlan, 'referenceIn' | 'idIn' | 'valueSets'>>,
): boolean {
  if (resource.resourceType !== plan.residual.resourceType) return false;
  if (plan.idIn !== undefined && !plan.idIn.has(resource.id ?? '')) return false;
  for (const join of plan.referenceIn ?? []) {
    const param = getSearchParam(resource.resourceType, join.param);
    if (param === undefined) return false;
    const references = extractReferences(evaluateSearchParam(resource, param));
    if (!references.some((reference) => join.references.has(reference.normalized))) return false;
  }
  return (plan.residual.filters ?? []).every((filter) => matchesFilter(resource, filter, plan));
}

/** What a filter is decided against besides the resource: the clock and the plan's expanded ValueSets. */
type MatchContext = Pick<SearchPlan, 'now'> & Partial<Pick<SearchPlan, 'valueSets'>>;

function matchesFilter(resource: Resource, filter: Filter, context: MatchContext): boolean {
  const param = getSearchParam(resource.resourceType, filter.code);
  if (param === undefined) return false;
  if (param.type === 'special') return param.code === 'near' && matchesNear(resource, filter.value);
  const values = evaluateSearchParam(resource, param);
  if (filter.operator === 'missing') return (values.length === 0) === (filter.value === 'true');
  const alternatives = splitEscaped(filter.value, ',');
  if (param.type === 'composite') {
    const components = getCompositeComponents(resource.resourceType, param.code);
    return (
      components !== undefined &&
      alternatives.some((query) => {
        const parts = splitEscaped(query, '$');
        if (parts.length !== components.length) return false;
        // R4 §3.1.1.4.11: every component must match within one value of the composite's expression.
        return values.some((value) =>
          components.every((component, i) =>
            matchesValues(
              component.type,
              'eq',
              [parts[i] as string],
              evalFhirPathTyped(component.expression, [value]),
              context,
            ),
          ),
        );
      })
    );
  }
  return matchesValues(param.type, filter.operator, alternatives, values, context);
}

/** One parameter of `type` with `operator` over the FHIRPath values of one resource (or composite part). */
function matchesValues(
  type: SearchParamType,
  operator: Filter['operator'],
  alternatives: readonly string[],
  values: TypedValue[],
  context: MatchContext,
): boolean {
  const { now } = context;
  const filter = { operator };
  switch (type) {
    case 'token': {
      if (filter.operator === 'text') {
        const texts = extractTokenTexts(values).map(normalizeSearchString);
        return alternatives.some((query) =>
          texts.some((text) => startsWithWord(text, normalizedQuery(query))),
        );
      }
      if (filter.operator === 'of-type') return alternatives.some((query) => matchesOfType(values, query));
      const tokens = extractTokens(values);
      if (filter.operator === 'in' || filter.operator === 'not-in') {
        const inSet = alternatives.some((url) => {
          const members = expansionOf(unescapeSearchValue(url), context);
          return tokens.some(
            (token) => token.system !== undefined && isValueSetMember(members, token.system, token.code),
          );
        });
        return filter.operator === 'in' ? inSet : !inSet;
      }
      if (filter.operator === 'above' || filter.operator === 'below') {
        return alternatives.some((query) => {
          const { system, code } = splitToken(query);
          if (system === undefined || system === '') return false;
          return tokens.some(
            (token) =>
              token.system === system.toLowerCase() &&
              (filter.operator === 'below'
                ? isSubsumedBy(system, token.code, code)
                : isSubsumedBy(system, code, token.code)),
          );
        });
      }
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
      if (filter.operator === 'identifier')
        return alternatives.some((query) => matchesIdentifier(values, query));
      const references = extractReferences(values);
      return alternatives.some((query) => {
        const wanted = normalizeReference(unescapeSearchValue(query)).normalized;
        return references.some((reference) => reference.normalized === wanted || reference.id === wanted);
      });
    }
    case 'uri': {
      const uris = extractUris(values);
      return alternatives.some((query) => {
        const wanted = unescapeSearchValue(query);
        // R4 §3.1.1.5.6: `:below` the URI and everything under it, `:above` the URI and its parents.
        if (filter.operator === 'below') return uris.some((uri) => uri.startsWith(wanted));
        if (filter.operator === 'above') return uris.some((uri) => wanted.startsWith(uri));
        return uris.includes(wanted);
      });
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
        const search = split === undefined ? undefined : parseSearchNumber(split.value, type === 'quantity');
        if (split === undefined || search === undefined) return false;
        const prefix = split.prefix ?? (filter.operator as SearchPrefix);
        return quantities.some((target) => matchesNumber(prefix, search, target));
      });
    }
    default:
      return false;
  }
}

/**
 * The lowercased members of a ValueSet: from the plan (planSearch expanded it, stored ValueSets
 * included), else from the shipped definitions; an unexpandable one matches nothing.
 */
function expansionOf(url: string, context: MatchContext): ValueSetMembers {
  const planned = context.valueSets?.get(url);
  if (planned !== undefined) return planned;
  const expansion = shippedValueSetLookup(url);
  return valueSetMembersOf('codings' in expansion ? expansion : { codings: new Set() });
}

/** R4 §3.1.1.5.9 `:of-type`: `type-system|type-code|value` against Identifier.type and Identifier.value. */
function matchesOfType(values: readonly TypedValue[], query: string): boolean {
  const parts = splitEscaped(query, '|').map(unescapeSearchValue);
  if (parts.length !== 3) return false;
  const [system, code, wanted] = parts.map((part) => part.toLowerCase()) as [string, string, string];
  return values.some(({ value }) => {
    const identifier = value as { type?: { coding?: { system?: string; code?: string }[] }; value?: unknown };
    if (typeof identifier?.value !== 'string' || identifier.value.toLowerCase() !== wanted) return false;
    return (identifier.type?.coding ?? []).some(
      (coding) =>
        (system === '' || coding.system?.toLowerCase() === system) && coding.code?.toLowerCase() === code,
    );
  });
}

/** R4 §3.1.1.4.9 `:identifier`: a token (`system|value`) against Reference.identifier. */
function matchesIdentifier(values: readonly TypedValue[], query: string): boolean {
  const identifiers = values.flatMap(({ value }) => {
    const identifier = (value as { identifier?: unknown } | null)?.identifier;
    return identifier === undefined ? [] : [{ type: 'Identifier', value: identifier }];
  });
  const { system, code } = splitToken(query);
  return extractTokens(identifiers).some(
    (token) =>
      token.code === code.toLowerCase() &&
      (system === undefined ||
        (system === '' ? token.system === undefined : token.system === system.toLowerCase())),
  );
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
