/**
 * Search values a conformance suite derives from a stored example, independently of the node's own
 * extraction: each SearchParameter's FHIRPath evaluated with Medplum's engine on the example, and the
 * first value turned into a query string of the parameter's type (R4 search.html §3.1.1.4). A value
 * that cannot be turned into one (a Range for a quantity, a logical-only reference) gives undefined,
 * and the walk then checks only that a non-matching value is not silently dropped.
 */
import { evalFhirPathTyped, type TypedValue, toTypedValue } from '@medplum/core';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';

/** A query value, and for ordered types the value without prefix plus its numeric or date form. */
export interface DerivedValue {
  /** The value as sent (escaped; for dates, numbers and quantities with no prefix: equality). */
  readonly value: string;
  /** Dates: the first instant the value covers (for prefix checks); numbers: the number. */
  readonly ordered?: {
    readonly kind: 'date' | 'number';
    readonly raw: string;
    readonly unit?: string;
    /** A Period from `raw` (its start): its end, or null when open. */
    readonly periodEnd?: string | null;
  };
  /** The parameter has more than one value in the example (negative expectations do not hold). */
  readonly multiple?: boolean;
  /** Tokens: system and code (system may be undefined). */
  readonly token?: { readonly system?: string; readonly code: string; readonly identifierType?: string };
  /** Strings: the whole string the word came from. */
  readonly whole?: string;
  /** References: the target type and id. */
  readonly reference?: { readonly type: string; readonly id: string };
}

export function escapeSearchValue(value: string): string {
  return value.replace(/[\\,$|]/g, (c) => `\\${c}`);
}

type Json = Record<string, unknown>;

function firstWord(text: string): string | undefined {
  return text.split(/[^\p{L}\p{N}]+/u).find((word) => word.length > 0);
}

function firstStringLeaf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = firstStringLeaf(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Json)) {
      if (key === 'extension' || key === 'id' || key === 'use') continue;
      const found = firstStringLeaf(item);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

function deriveToken(typed: TypedValue): DerivedValue | undefined {
  const v = typed.value as unknown;
  const token = (system: string | undefined, code: string, identifierType?: string): DerivedValue => ({
    value:
      system === undefined
        ? escapeSearchValue(code)
        : `${escapeSearchValue(system)}|${escapeSearchValue(code)}`,
    token: {
      ...(system === undefined ? {} : { system }),
      code,
      ...(identifierType ? { identifierType } : {}),
    },
  });
  switch (typed.type) {
    case 'Coding': {
      const c = v as Json;
      return typeof c.code === 'string' ? token(c.system as string | undefined, c.code) : undefined;
    }
    case 'CodeableConcept': {
      const coding = ((v as Json).coding as Json[] | undefined)?.find((c) => typeof c.code === 'string');
      return coding === undefined
        ? undefined
        : token(coding.system as string | undefined, coding.code as string);
    }
    case 'Identifier': {
      const i = v as Json;
      if (typeof i.value !== 'string') return undefined;
      const typeCoding = ((i.type as Json | undefined)?.coding as Json[] | undefined)?.find(
        (c) => typeof c.system === 'string' && typeof c.code === 'string',
      );
      return token(
        i.system as string | undefined,
        i.value,
        typeCoding === undefined ? undefined : `${typeCoding.system}|${typeCoding.code}`,
      );
    }
    case 'ContactPoint': {
      const value = (v as Json).value;
      return typeof value === 'string' ? token(undefined, value) : undefined;
    }
    case 'boolean':
      return token(undefined, String(v));
    default:
      return typeof v === 'string' ? token(undefined, v) : undefined;
  }
}

function deriveString(typed: TypedValue): DerivedValue | undefined {
  const v = typed.value as unknown;
  let text: string | undefined;
  if (typed.type === 'HumanName') {
    const n = v as Json;
    text = (n.family as string) ?? (n.given as string[] | undefined)?.[0] ?? (n.text as string);
  } else if (typed.type === 'Address') {
    const a = v as Json;
    text = (a.city as string) ?? (a.line as string[] | undefined)?.[0] ?? (a.text as string);
  }
  text ??= firstStringLeaf(v);
  if (text === undefined) return undefined;
  const word = firstWord(text);
  return word === undefined ? undefined : { value: escapeSearchValue(word), whole: text };
}

function deriveReference(typed: TypedValue): DerivedValue | undefined {
  const v = typed.value as unknown;
  const text = typeof v === 'string' ? v : (v as Json)?.reference;
  if (typeof text !== 'string') return undefined;
  const relative = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(text);
  if (relative !== null)
    return { value: text, reference: { type: relative[1] as string, id: relative[2] as string } };
  // Canonical references (a URL, optionally |version) are searched by their URL.
  return /^https?:\/\//.test(text) ? { value: escapeSearchValue(text) } : undefined;
}

function deriveDate(typed: TypedValue): DerivedValue | undefined {
  const v = typed.value as unknown;
  if (typeof v === 'string')
    return ['date', 'dateTime', 'instant'].includes(typed.type)
      ? { value: v, ordered: { kind: 'date', raw: v } }
      : undefined;
  const o = v as Json | undefined;
  // A Period [start, end): `sa` a far-past day holds; `ge` its start holds unless it ends that day.
  if (typed.type === 'Period' && typeof o?.start === 'string') {
    const end = typeof o.end === 'string' ? o.end : null;
    return { value: 'sa1001-01-01', ordered: { kind: 'date', raw: o.start, periodEnd: end } };
  }
  if (typed.type === 'Timing') {
    const event = (o?.event as string[] | undefined)?.[0];
    if (event !== undefined) return { value: event, ordered: { kind: 'date', raw: event } };
  }
  return undefined;
}

function deriveNumber(typed: TypedValue, withUnits: boolean): DerivedValue | undefined {
  const v = typed.value as unknown;
  if (typeof v === 'number') return { value: String(v), ordered: { kind: 'number', raw: String(v) } };
  const o = v as Json | undefined;
  if (typeof o?.value !== 'number' || typed.type === 'Range' || typed.type === 'Ratio') return undefined;
  const raw = String(o.value);
  if (withUnits && typeof o.system === 'string' && typeof o.code === 'string') {
    const unit = `${escapeSearchValue(o.system)}|${escapeSearchValue(o.code)}`;
    return { value: `${raw}|${unit}`, ordered: { kind: 'number', raw, unit } };
  }
  return { value: raw, ordered: { kind: 'number', raw } };
}

function deriveOne(type: string, typed: TypedValue): DerivedValue | undefined {
  switch (type) {
    case 'token':
      return deriveToken(typed);
    case 'string':
      return deriveString(typed);
    case 'reference':
      return deriveReference(typed);
    case 'date':
      return deriveDate(typed);
    case 'number':
      return deriveNumber(typed, false);
    case 'quantity':
      return deriveNumber(typed, true);
    case 'uri':
      return typeof typed.value === 'string' ? { value: escapeSearchValue(typed.value) } : undefined;
    default:
      return undefined;
  }
}

function evaluate(expression: string, input: TypedValue): TypedValue[] {
  try {
    return evalFhirPathTyped(expression, [input]);
  } catch {
    return [];
  }
}

/**
 * A value of `param` that `resource` matches, or undefined. Composite parameters join their
 * components' values (from the component definitions, `byUrl`) with `$`, evaluated on one item.
 */
export function deriveSearchValue(
  param: SearchParameter,
  resource: Resource,
  byUrl: ReadonlyMap<string, SearchParameter>,
): DerivedValue | undefined {
  if (param.expression === undefined) return undefined;
  const items = evaluate(param.expression, toTypedValue(resource));
  if (param.type !== 'composite') {
    for (const item of items) {
      const derived = deriveOne(param.type as string, item);
      if (derived !== undefined) return items.length > 1 ? { ...derived, multiple: true } : derived;
    }
    return undefined;
  }
  for (const item of items) {
    const parts: string[] = [];
    for (const component of param.component ?? []) {
      const definition = byUrl.get(component.definition as string);
      if (definition === undefined || component.expression === undefined) return undefined;
      const values = evaluate(component.expression, item);
      const derived = values
        .map((value) => deriveOne(definition.type as string, value))
        .find((d) => d !== undefined && d.ordered?.periodEnd === undefined);
      if (derived === undefined) break;
      parts.push(derived.value);
    }
    if (parts.length === (param.component ?? []).length && parts.length > 0)
      return { value: parts.join('$') };
  }
  return undefined;
}

/** A value of the parameter's type that no stored example matches. */
export function nonMatchingValue(
  param: SearchParameter,
  byUrl: ReadonlyMap<string, SearchParameter>,
): string {
  switch (param.type) {
    case 'token':
      return 'http://nomatch.example/system|no-such-code';
    case 'string':
      return 'Zzqxjv';
    case 'reference':
      return `${param.target?.[0] ?? 'Patient'}/no-such-id`;
    case 'date':
      // `eq`: an open-ended Period is contained in no day (lt would match one open at its start).
      return '1001-01-01';
    case 'number':
    case 'quantity':
      return 'lt-999999999';
    case 'uri':
      return 'http://nomatch.example/no-such-uri';
    case 'composite':
      return (param.component ?? [])
        .map((component) => {
          const definition = byUrl.get(component.definition as string);
          if (definition === undefined) return 'x';
          const value = nonMatchingValue(definition, byUrl);
          return definition.type === 'date' || definition.type === 'quantity' || definition.type === 'number'
            ? value.replace(/^lt/, '')
            : value;
        })
        .join('$');
    default:
      return param.code === 'near' ? '-89.9|0.1|1|km' : 'Zzqxjv';
  }
}
