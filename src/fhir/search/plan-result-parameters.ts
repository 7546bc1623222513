import type { IncludeTarget } from '@medplum/core';
import { getSearchParam, isSearchableResourceType, loadSearchParameters } from './load-search-parameters.js';
import { invalidValue, nameOf, type PlanState, unsupported } from './plan-state.js';

export function parseNonNegativeInteger(key: string, modifier: string, value: string): number {
  if (modifier !== '' || !/^\d{1,9}$/.test(value)) throw invalidValue(key, 'expected a non-negative integer');
  return Number(value);
}

export function planSort(state: PlanState, key: string, value: string): void {
  for (const field of value.split(',')) {
    const descending = field.startsWith('-');
    const code = descending ? field.slice(1) : field;
    const param = getSearchParam(state.resourceType, code);
    if (param === undefined || param.type === 'composite' || param.type === 'special') {
      unsupported(state, key, `cannot sort by ${nameOf(code)}`);
      continue;
    }
    state.sort.push({ code, descending });
  }
}

export function planInclude(
  state: PlanState,
  key: string,
  code: string,
  modifier: string,
  value: string,
): void {
  if (modifier !== '' && modifier !== 'iterate') {
    unsupported(state, key, `modifier :${modifier} is not supported`);
    return;
  }
  const parts = value.split(':');
  const [sourceType, paramCode, targetType] = parts;
  if (value === '*' || (parts.length === 2 && paramCode === '*')) {
    planIncludeWildcard(
      state,
      key,
      code,
      modifier,
      value === '*' ? state.resourceType : (sourceType as string),
    );
    return;
  }
  if (parts.length < 2 || parts.length > 3 || sourceType === undefined || paramCode === undefined) {
    throw invalidValue(key, 'expected ResourceType:parameter[:TargetType]');
  }
  const param = isSearchableResourceType(sourceType) ? getSearchParam(sourceType, paramCode) : undefined;
  const pointsHere =
    code === '_include'
      ? sourceType === state.resourceType
      : param?.target.includes(state.resourceType) === true;
  const validTarget = targetType === undefined || param?.target.includes(targetType) === true;
  if (param?.type !== 'reference' || !validTarget || (modifier !== 'iterate' && !pointsHere)) {
    unsupported(state, key, 'not a reference parameter that can be included here');
    return;
  }
  const target: IncludeTarget = {
    resourceType: sourceType,
    searchParam: paramCode,
    ...(targetType === undefined ? {} : { targetType }),
    ...(modifier === 'iterate' ? { modifier: 'iterate' as const } : {}),
  };
  (code === '_include' ? state.include : state.revinclude).push(target);
}

/**
 * R4 §3.1.1.5.4: `*` (or `Type:*`) includes through every reference parameter of the type; for
 * `_revinclude`, every reference parameter of that type that may point at the searched type.
 */
export function planIncludeWildcard(
  state: PlanState,
  key: string,
  code: string,
  modifier: string,
  sourceType: string,
): void {
  const params = isSearchableResourceType(sourceType) ? loadSearchParameters().get(sourceType) : undefined;
  const iterate = modifier === 'iterate';
  if (params === undefined || (code === '_include' && sourceType !== state.resourceType && !iterate)) {
    unsupported(state, key, 'not a type whose references can be included here');
    return;
  }
  for (const param of params.values()) {
    if (param.type !== 'reference') continue;
    if (
      code === '_revinclude' &&
      !iterate &&
      param.target.length > 0 &&
      !param.target.includes(state.resourceType)
    )
      continue;
    const target: IncludeTarget = {
      resourceType: sourceType,
      searchParam: param.code,
      ...(iterate ? { modifier: 'iterate' as const } : {}),
    };
    (code === '_include' ? state.include : state.revinclude).push(target);
  }
}
