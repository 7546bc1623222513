import {
  getElementDefinition,
  getTypedPropertyValue,
  type InternalSchemaElement,
  isEmpty,
  isResource,
  type TypedValue,
  type TypedValueWithPath,
} from '@medplum/core';

/**
 * The JSON keys an element may appear under, in the order of its types: `name` for a plain element,
 * `valueString`, `valueQuantity`, ... for a choice (`value[x]`), each with its `_` partner (R4
 * json.html §2.6.2). Medplum builds these strings for every element of every object it crawls,
 * present or not; they depend only on the element, so they are built once per element.
 */
interface CandidateKeys {
  readonly names: readonly string[];
  readonly partners: readonly string[];
  readonly types: readonly string[];
}

const CANDIDATES = new WeakMap<InternalSchemaElement, CandidateKeys>();

function candidateKeys(element: InternalSchemaElement): CandidateKeys {
  let found = CANDIDATES.get(element);
  if (found === undefined) {
    const last = element.path.substring(element.path.lastIndexOf('.') + 1);
    const types = (element.type ?? []).map((type) => type.code);
    const names = types.map((code) => last.replace('[x]', capitalize(code)));
    found = { names, partners: names.map((name) => `_${name}`), types };
    CANDIDATES.set(element, found);
  }
  return found;
}

function capitalize(word: string): string {
  return word ? word.charAt(0).toUpperCase() + word.substring(1) : '';
}

/**
 * Medplum 4.5.2's `getTypedPropertyValueWithSchema` (src/fhirpath/utils.ts, Apache-2.0) with the
 * candidate keys built once per element: the same value, type and primitive-extension merge, so a
 * validator built on it reports exactly what Medplum's does.
 */
function readWithSchema(
  typedValue: TypedValue,
  element: InternalSchemaElement,
): TypedValue[] | TypedValue | undefined {
  const value = typedValue.value as Record<string, unknown>;
  const { names, partners, types } = candidateKeys(element);
  let resultValue: unknown;
  let resultType = 'undefined';
  let primitiveExtension: unknown;
  for (let i = 0; i < names.length; i++) {
    resultValue = value[names[i] as string];
    primitiveExtension = value[partners[i] as string];
    if (resultValue !== undefined || primitiveExtension !== undefined) {
      resultType = types[i] as string;
      break;
    }
  }
  if (primitiveExtension) {
    const partner = primitiveExtension as unknown[];
    if (Array.isArray(resultValue)) {
      const merged = resultValue.slice();
      for (let i = 0; i < Math.max(merged.length, partner.length); i++) {
        merged[i] = assignPrimitiveExtension(merged[i], partner[i]);
      }
      resultValue = merged;
    } else if (!resultValue && Array.isArray(partner)) {
      const merged = partner.slice();
      for (let i = 0; i < partner.length; i++) merged[i] = assignPrimitiveExtension(undefined, partner[i]);
      resultValue = merged;
    } else {
      resultValue = assignPrimitiveExtension(resultValue, primitiveExtension);
    }
  }
  if (isEmpty(resultValue)) return undefined;
  if (resultType === 'Element' || resultType === 'BackboneElement') {
    resultType = element.type[0]?.code as string;
  }
  if (Array.isArray(resultValue)) return resultValue.map((one) => withType(one, resultType));
  return withType(resultValue, resultType);
}

function withType(value: unknown, type: string): TypedValue {
  return { type: type === 'Resource' && isResource(value) ? value.resourceType : type, value };
}

/** Medplum's merge of a primitive's `_` partner into a boxed primitive (it mutates the partner too). */
function assignPrimitiveExtension(target: unknown, primitiveExtension: unknown): unknown {
  if (primitiveExtension) {
    if (typeof primitiveExtension !== 'object') throw new Error('Primitive extension must be an object');
    const source = primitiveExtension as Record<string, unknown>;
    // Own "__proto__" and "constructor" keys of parsed JSON, deleted as Medplum's safeAssign does.
    Reflect.deleteProperty(source, '__proto__');
    Reflect.deleteProperty(source, 'constructor');
    return Object.assign(target ?? {}, source);
  }
  return target;
}

/**
 * Medplum's `getTypedPropertyValue(input, key)` (no profile URL), as its validator's crawler calls
 * it for every element of a schema. An element absent from the JSON (most of them: a Patient has 28,
 * an Extension's value has 50 types) is answered from the prebuilt keys without building a string.
 */
export function readTypedProperty(input: TypedValue, key: string): TypedValue[] | TypedValue | undefined {
  if (!input.value) return undefined;
  const element = getElementDefinition(input.type, key);
  if (element === undefined) return getTypedPropertyValue(input, key);
  return readWithSchema(input, element);
}

/**
 * Medplum's `getTypedPropertyValue(input, key)` where the schema of `input.type` holds `element`
 * under that very key (as the validator's crawler knows), without looking the element up again.
 */
export function readElement(
  input: TypedValue,
  element: InternalSchemaElement,
): TypedValue[] | TypedValue | undefined {
  if (!input.value) return undefined;
  return readWithSchema(input, element);
}

/**
 * Medplum's `getTypedPropertyValueWithPath` for a value that is present: `prefix` is the parent's path
 * and a dot (empty at the root of a nameless value).
 */
export function withPath(
  found: TypedValue[] | TypedValue,
  prefix: string,
  key: string,
): TypedValueWithPath[] | TypedValueWithPath {
  if (Array.isArray(found)) return found.map((one, i) => ({ ...one, path: `${prefix}${key}[${i}]` }));
  return { ...found, path: `${prefix}${key}` };
}
