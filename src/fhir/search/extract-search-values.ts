import { evalFhirPathTyped, type TypedValue, toTypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { SearchParam } from './load-search-parameters.js';
import { type DateRange, parseDateRange } from './parse-date-range.js';

/**
 * What a search parameter's FHIRPath yields for one resource, turned into the comparable shapes of
 * R4 §3.1.1.4. The blind index and the in-memory matcher both read values through these functions,
 * so the index can never disagree with the matcher about what a resource contains.
 */
export function evaluateSearchParam(resource: Resource, param: SearchParam): TypedValue[] {
  const input = param.usesResolve ? withRelativeReferences(resource) : resource;
  return evalFhirPathTyped(param.expression, [toTypedValue(input)]);
}

const relativeCopies = new WeakMap<Resource, Resource>();

/**
 * Medplum's FHIRPath `resolve()` reads the type from the first path segment, so an absolute
 * reference (`https://x/fhir/Patient/1`) resolves to type "https:" and `subject.where(resolve() is
 * Patient)` (the R4 `patient` parameters) misses it. Those expressions see a copy with references
 * made relative; the copy is made once per resource and only when one is absolute.
 */
function withRelativeReferences(resource: Resource): Resource {
  const cached = relativeCopies.get(resource);
  if (cached !== undefined) return cached;
  // A walk first: most resources hold no absolute reference, and copying each through JSON was a
  // tenth of a bulk import's index extraction (issue 13's benchmark, decision 0038).
  const result = hasAbsoluteReference(resource) ? relativeCopy(resource) : resource;
  relativeCopies.set(resource, result);
  return result;
}

function isAbsoluteReference(key: string, value: unknown): value is string {
  return key === 'reference' && typeof value === 'string' && value.includes('://');
}

function hasAbsoluteReference(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasAbsoluteReference);
  if (typeof value !== 'object' || value === null) return false;
  for (const [key, child] of Object.entries(value)) {
    if (isAbsoluteReference(key, child) && normalizeReference(child).id !== undefined) return true;
    if (typeof child === 'object' && hasAbsoluteReference(child)) return true;
  }
  return false;
}

function relativeCopy(resource: Resource): Resource {
  return JSON.parse(JSON.stringify(resource), (key, value: unknown) => {
    if (!isAbsoluteReference(key, value)) return value;
    const { id, normalized } = normalizeReference(value);
    return id === undefined ? value : normalized;
  }) as Resource;
}

export interface SearchToken {
  /** Lowercased: token matching is case-insensitive here (as in Medplum), in index and matcher alike. */
  readonly system: string | undefined;
  readonly code: string;
}

/** R4 §3.1.1.4.10: Coding, CodeableConcept, Identifier, ContactPoint and primitive codes. */
export function extractTokens(values: readonly TypedValue[]): SearchToken[] {
  const tokens: SearchToken[] = [];
  const add = (system: unknown, code: unknown): void => {
    if (typeof code !== 'string' && typeof code !== 'boolean' && typeof code !== 'number') return;
    const text = String(code);
    if (text === '') return;
    tokens.push({
      system: typeof system === 'string' && system !== '' ? system.toLowerCase() : undefined,
      code: text.toLowerCase(),
    });
  };
  for (const { value } of values) {
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object') {
      add(undefined, value);
      continue;
    }
    const object = value as Record<string, unknown>;
    if (Array.isArray(object.coding)) {
      for (const coding of object.coding as Record<string, unknown>[]) add(coding.system, coding.code);
    } else if ('code' in object) {
      add(object.system, object.code);
    } else if ('value' in object) {
      // Identifier (system|value) and ContactPoint, whose `system` (phone, email) plays the same role.
      add(object.system, object.value);
    }
  }
  return tokens;
}

/** The human-readable text a token `:text` search looks at (R4 §3.1.1.5.7). */
export function extractTokenTexts(values: readonly TypedValue[]): string[] {
  const texts: string[] = [];
  for (const { value } of values) {
    if (typeof value !== 'object' || value === null) continue;
    const object = value as Record<string, unknown>;
    if (typeof object.text === 'string') texts.push(object.text);
    if (typeof object.display === 'string') texts.push(object.display);
    for (const coding of Array.isArray(object.coding) ? (object.coding as Record<string, unknown>[]) : []) {
      if (typeof coding.display === 'string') texts.push(coding.display);
    }
    const type = object.type as Record<string, unknown> | undefined;
    if (typeof type?.text === 'string') texts.push(type.text);
  }
  return texts;
}

const HUMAN_NAME_PARTS = ['text', 'family', 'given', 'prefix', 'suffix'];
const ADDRESS_PARTS = ['text', 'line', 'city', 'district', 'state', 'postalCode', 'country'];

/**
 * R4 §3.1.1.4.7: a string parameter on a HumanName or Address matches any of its parts, each on
 * its own (so `family=Sm` matches "Smith" even when the name's given comes first).
 */
export function extractStrings(values: readonly TypedValue[]): string[] {
  const strings: string[] = [];
  const addAll = (part: unknown): void => {
    if (typeof part === 'string' && part !== '') strings.push(part);
    else if (Array.isArray(part)) for (const item of part) addAll(item);
  };
  for (const { type, value } of values) {
    if (typeof value === 'string') {
      addAll(value);
    } else if (typeof value === 'object' && value !== null) {
      const object = value as Record<string, unknown>;
      const parts = type === 'HumanName' ? HUMAN_NAME_PARTS : type === 'Address' ? ADDRESS_PARTS : undefined;
      if (parts !== undefined) for (const part of parts) addAll(object[part]);
      else for (const part of Object.values(object)) if (typeof part === 'string') addAll(part);
    }
  }
  return strings;
}

export interface SearchReference {
  /** `Type/id` for a resolvable literal reference, else the reference string as given. */
  readonly normalized: string;
  readonly id: string | undefined;
}

// R4 §2.3.0.1 (the RESTful URL pattern): [base]/Type/id[/_history/vid].
const LITERAL_REFERENCE =
  /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/** Strips the base URL and version: `https://x/fhir/Patient/1/_history/2` → `Patient/1`. */
export function normalizeReference(reference: string): SearchReference {
  const match = LITERAL_REFERENCE.exec(reference);
  if (match === null) return { normalized: reference, id: undefined };
  return { normalized: `${match[1]}/${match[2]}`, id: match[2] };
}

/** Literal references and canonicals; logical (identifier-only) and contained (`#x`) ones are skipped. */
export function extractReferences(values: readonly TypedValue[]): SearchReference[] {
  const references: SearchReference[] = [];
  for (const { value } of values) {
    const reference =
      typeof value === 'string' ? value : (value as { reference?: unknown } | null)?.reference;
    if (typeof reference !== 'string' || reference === '' || reference.startsWith('#')) continue;
    references.push(normalizeReference(reference));
  }
  return references;
}

export function extractUris(values: readonly TypedValue[]): string[] {
  return values.flatMap(({ value }) => (typeof value === 'string' && value !== '' ? [value] : []));
}

/** date, dateTime, instant, Period (open ends unbounded, R4 §3.1.1.4.2) and Timing.event. */
export function extractDateRanges(values: readonly TypedValue[]): DateRange[] {
  const ranges: DateRange[] = [];
  for (const { value } of values) {
    if (typeof value === 'string') {
      const range = parseDateRange(value);
      if (range !== undefined) ranges.push(range);
    } else if (typeof value === 'object' && value !== null) {
      const object = value as { start?: unknown; end?: unknown; event?: unknown };
      if (Array.isArray(object.event)) {
        for (const event of object.event) {
          const range = typeof event === 'string' ? parseDateRange(event) : undefined;
          if (range !== undefined) ranges.push(range);
        }
      } else if (object.start !== undefined || object.end !== undefined) {
        const start = typeof object.start === 'string' ? parseDateRange(object.start) : undefined;
        const end = typeof object.end === 'string' ? parseDateRange(object.end) : undefined;
        ranges.push({ start: start?.start ?? -Infinity, end: end?.end ?? Infinity });
      }
    }
  }
  return ranges;
}

export interface SearchQuantity {
  readonly value: number;
  readonly system: string | undefined;
  readonly code: string | undefined;
  readonly unit: string | undefined;
}

export function extractQuantities(values: readonly TypedValue[]): SearchQuantity[] {
  const quantities: SearchQuantity[] = [];
  for (const { value } of values) {
    if (typeof value === 'number') {
      quantities.push({ value, system: undefined, code: undefined, unit: undefined });
    } else if (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { value?: unknown }).value === 'number'
    ) {
      const quantity = value as { value: number; system?: unknown; code?: unknown; unit?: unknown };
      quantities.push({
        value: quantity.value,
        system: typeof quantity.system === 'string' ? quantity.system : undefined,
        code: typeof quantity.code === 'string' ? quantity.code : undefined,
        unit: typeof quantity.unit === 'string' ? quantity.unit : undefined,
      });
    }
  }
  return quantities;
}
