import type { Filter } from '@medplum/core';
import { isKnownCodeSystem } from './code-system-hierarchy.js';
import { getCompositeComponents } from './composite-components.js';
import { normalizeReference } from './extract-search-values.js';
import { getSearchParam, type SearchParam } from './load-search-parameters.js';
import {
  MAX_PREFIX_LENGTH,
  normalizeSearchString,
  prefixOf,
  searchWords,
} from './normalize-search-string.js';
import { parseDateRange } from './parse-date-range.js';
import { planSpecialParameter } from './plan-special.js';
import { addIndexFilter, invalidValue, type PlanState, unsupported } from './plan-state.js';
import { planValueSetToken } from './plan-value-set.js';
import {
  parseSearchNumber,
  splitEscaped,
  splitPrefix,
  splitToken,
  unescapeSearchValue,
} from './search-value-syntax.js';

const SUPPORTED_MODIFIERS: Readonly<Record<string, readonly string[]>> = {
  token: ['not', 'text', 'of-type', 'in', 'not-in', 'above', 'below'],
  string: ['exact', 'contains'],
  reference: ['identifier'],
  uri: ['above', 'below'],
  composite: [],
  date: [],
  number: [],
  quantity: [],
};

/**
 * A parameter of the searched type (not a result or join parameter), by its type: token, string,
 * reference, composite and uri values narrow by the blind index; dates, numbers and quantities, special
 * parameters and modifiers without index rows are decided in memory.
 */
export function planTypedParameter(
  state: PlanState,
  key: string,
  code: string,
  modifier: string,
  value: string,
): void {
  const param = getSearchParam(state.resourceType, code);
  if (param === undefined) {
    unsupported(state, key, `unknown search parameter for ${state.resourceType}`);
    return;
  }
  if (param.type === 'special') {
    const special = planSpecialParameter(state.resourceType, param, modifier, value);
    if ('invalid' in special) throw invalidValue(key, special.invalid);
    if ('unsupported' in special) unsupported(state, key, special.unsupported);
    else state.filters.push(special.filter);
    return;
  }
  if (value === '') {
    unsupported(state, key, 'empty value');
    return;
  }
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') throw invalidValue(key, 'expected true or false');
    state.filters.push({ code, operator: 'missing', value });
    return;
  }
  const referenceType = param.type === 'reference' ? referenceTypeModifier(param, modifier) : undefined;
  if (
    modifier !== '' &&
    referenceType === undefined &&
    !SUPPORTED_MODIFIERS[param.type]?.includes(modifier)
  ) {
    unsupported(state, key, `modifier :${modifier} is not supported on ${param.type} parameters`);
    return;
  }
  switch (param.type) {
    case 'token':
      planToken(state, key, param, modifier, value);
      return;
    case 'string':
      planString(state, param, modifier, value);
      return;
    case 'reference':
      if (modifier === 'identifier') {
        // Logical references (Reference.identifier) have no index rows: decided in memory.
        state.filters.push({ code, operator: 'identifier', value });
        return;
      }
      planReference(state, key, param, referenceType, value);
      return;
    case 'composite':
      planComposite(state, key, param, value);
      return;
    case 'uri':
      state.filters.push({
        code,
        operator: modifier === '' ? 'eq' : (modifier as Filter['operator']),
        value,
      });
      if (modifier !== '') return;
      addIndexFilter(
        state,
        param,
        'uri',
        splitEscaped(value, ',').map((item) => unescapeSearchValue(item)),
      );
      return;
    case 'date':
      planOrdered(state, key, param, value, (item) => parseDateRange(item) !== undefined, 'a real date');
      return;
    case 'number':
    case 'quantity': {
      const withUnits = param.type === 'quantity';
      planOrdered(
        state,
        key,
        param,
        value,
        (item) => parseSearchNumber(item, withUnits) !== undefined,
        'a number',
      );
      return;
    }
  }
}

function planToken(state: PlanState, key: string, param: SearchParam, modifier: string, value: string): void {
  const items = splitEscaped(value, ',');
  if (modifier === 'in' || modifier === 'not-in') {
    const planned = planValueSetToken(modifier, value, state.valueSetLookup);
    if ('unsupported' in planned) {
      unsupported(state, key, planned.unsupported);
      return;
    }
    for (const [canonical, codings] of planned.codings) state.valueSetCodings.set(canonical, codings);
    state.filters.push({ code: param.code, operator: modifier as Filter['operator'], value });
    if (planned.indexValues !== undefined) addIndexFilter(state, param, 'token', [...planned.indexValues]);
    return;
  }
  if (modifier === 'above' || modifier === 'below') {
    const systems = items.map((item) => splitToken(item).system);
    if (systems.some((system) => system === undefined || !isKnownCodeSystem(system))) {
      unsupported(state, key, 'subsumption needs system|code of a code system whose hierarchy is known here');
      return;
    }
  }
  if (modifier === 'of-type') {
    const parts = items.map((item) => splitEscaped(item, '|'));
    if (parts.some((part) => part.length !== 3 || part[1] === '' || part[2] === ''))
      throw invalidValue(key, 'expected type-system|type-code|value');
    state.filters.push({ code: param.code, operator: 'of-type', value });
    // The identifier's value is indexed as a code without system.
    addIndexFilter(
      state,
      param,
      'token',
      parts.map((part) => unescapeSearchValue(part[2] as string).toLowerCase()),
    );
    return;
  }
  state.filters.push({
    code: param.code,
    operator: modifier === '' ? 'eq' : (modifier as Filter['operator']),
    value,
  });
  if (modifier !== '') return;
  const tokens = splitEscaped(value, ',').map((item) => splitToken(item));
  if (param.code === '_id') {
    if (tokens.some((token) => token.system !== undefined)) throw invalidValue(key, 'an id has no system');
    const ids = tokens.map((token) => token.code);
    state.id = state.id === undefined ? ids : state.id.filter((id) => ids.includes(id));
    return;
  }
  addIndexFilter(state, param, 'token', tokens.map(tokenIndexValue));
}

/**
 * matchesSearch decides a string at the start of the value or of any word in it, so the first word
 * of a query is always a prefix of an indexed word. With one query value, every further word is too
 * (the words in between must be whole words of the value), so each gets its own ANDed filter.
 */
function planString(state: PlanState, param: SearchParam, modifier: string, value: string): void {
  state.filters.push({
    code: param.code,
    operator: modifier === '' ? 'eq' : (modifier as Filter['operator']),
    value,
  });
  if (modifier === 'contains') return;
  const queries = splitEscaped(value, ',').map((item) =>
    searchWords(normalizeSearchString(unescapeSearchValue(item))),
  );
  // A value that normalizes to nothing ("---") matches every non-empty string: no index filter.
  if (queries.some((words) => words.length === 0)) return;
  const prefix = (word: string): string => prefixOf(word, MAX_PREFIX_LENGTH);
  if (queries.length === 1) {
    for (const word of new Set(queries[0])) addIndexFilter(state, param, 'string-prefix', [prefix(word)]);
  } else {
    addIndexFilter(
      state,
      param,
      'string-prefix',
      queries.map((words) => prefix(words[0] as string)),
    );
  }
}

/**
 * R4 §3.1.1.4.11: `code$value` per comma alternative, each part matched as its component's type. When
 * the first component is a token whose own parameter is indexed, its codes narrow in SQL.
 */
function planComposite(state: PlanState, key: string, param: SearchParam, value: string): void {
  const components = getCompositeComponents(state.resourceType, param.code);
  if (components === undefined) {
    unsupported(state, key, 'the composite parameter has no usable component definitions');
    return;
  }
  const alternatives = splitEscaped(value, ',').map((item) => splitEscaped(item, '$'));
  if (alternatives.some((parts) => parts.length !== components.length))
    throw invalidValue(key, `expected ${components.length} values joined by $`);
  for (const parts of alternatives) {
    components.forEach((component, i) => {
      const part = parts[i] as string;
      if (component.type === 'date' || component.type === 'number' || component.type === 'quantity') {
        const split = splitPrefix(part);
        const valid =
          split !== undefined &&
          (component.type === 'date'
            ? parseDateRange(split.value) !== undefined
            : parseSearchNumber(split.value, component.type === 'quantity') !== undefined);
        if (!valid) throw invalidValue(key, `component ${i + 1} is not a valid ${component.type}`);
      }
    });
  }
  state.filters.push({ code: param.code, operator: 'eq', value });
  const first = components[0];
  const firstParam = first?.code === undefined ? undefined : getSearchParam(state.resourceType, first.code);
  if (first?.type === 'token' && firstParam !== undefined) {
    addIndexFilter(
      state,
      firstParam,
      'token',
      alternatives.map((parts) => tokenIndexValue(splitToken(parts[0] as string))),
    );
  }
}

function tokenIndexValue({ system, code }: { system: string | undefined; code: string }): string {
  const lowerCode = code.toLowerCase();
  if (system === undefined || system === '') return system === '' && code === '' ? '|' : lowerCode;
  return `${system.toLowerCase()}|${lowerCode}`;
}

/** R4 §3.1.1.4.9: `subject:Patient=123` means `subject=Patient/123`. */
function referenceTypeModifier(param: SearchParam, modifier: string): string | undefined {
  if (!/^[A-Z][A-Za-z]+$/.test(modifier)) return undefined;
  return param.target.length === 0 || param.target.includes(modifier) ? modifier : undefined;
}

function planReference(
  state: PlanState,
  key: string,
  param: SearchParam,
  type: string | undefined,
  value: string,
): void {
  const references = splitEscaped(value, ',').map((item) => {
    const reference = unescapeSearchValue(item);
    if (type === undefined || !reference.includes('/'))
      return type === undefined ? reference : `${type}/${reference}`;
    if (normalizeReference(reference).normalized.startsWith(`${type}/`)) return reference;
    throw invalidValue(key, 'the reference does not match the type modifier');
  });
  state.filters.push({ code: param.code, operator: 'eq', value: references.map(escapeComma).join(',') });
  addIndexFilter(
    state,
    param,
    'reference',
    references.map((reference) => normalizeReference(reference).normalized),
  );
}

function escapeComma(value: string): string {
  return value.replace(/([\\,])/g, '\\$1');
}

/**
 * Dates, numbers and quantities stay out of the index (see extractSearchIndexEntries). Each comma
 * value may carry its own prefix; one shared prefix becomes the filter's operator, as in Medplum.
 */
function planOrdered(
  state: PlanState,
  key: string,
  param: SearchParam,
  value: string,
  isValid: (value: string) => boolean,
  expected: string,
): void {
  const items = splitEscaped(value, ',').map((item) => {
    const split = splitPrefix(item);
    if (split === undefined) throw invalidValue(key, 'unknown prefix');
    if (!isValid(split.value)) throw invalidValue(key, `expected ${expected}`);
    return split;
  });
  const prefixes = new Set(items.map((item) => item.prefix ?? 'eq'));
  const [only] = prefixes;
  if (prefixes.size === 1 && only !== undefined) {
    state.filters.push({
      code: param.code,
      operator: only,
      value: items.map((item) => item.value).join(','),
    });
    if (param.code === '_lastUpdated' && items.length === 1)
      state.lastUpdated.push({ prefix: only, value: (items[0] as { value: string }).value });
  } else {
    state.filters.push({ code: param.code, operator: 'eq', value });
  }
}
