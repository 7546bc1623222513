/**
 * Medplum 4.5.2's structural validator (`ResourceValidator` and its `Crawler`, src/typeschema/
 * validation.ts and crawler.ts, Apache-2.0), ported so that it reads properties through
 * {@link readTypedPropertyWithPath}: Medplum's own crawl spent about half its time building the JSON
 * key of every element of every object it visited, present or not (issue 16). Every check, message,
 * severity, expression and the order of the issues are Medplum's; `validate-against-schema.test.ts`
 * compares both on every R4 example and the Synthea data, as found and broken in several ways. The
 * rules Medplum misses or gets wrong are `check-resource-rules.ts`'s, not this file's.
 */
import {
  arrayify,
  createConstraintIssue,
  createOperationOutcomeIssue,
  createProcessingIssue,
  createStructureIssue,
  deepEquals,
  deepIncludes,
  evalFhirPathTyped,
  type FhirPathAtom,
  fhirTypeToJsType,
  getDataType,
  getNestedProperty,
  type InternalSchemaElement,
  type InternalTypeSchema,
  isPrimitiveType,
  isReference,
  isResource,
  LRUCache,
  matchDiscriminant,
  OperationOutcomeError,
  PropertyType,
  type SlicingRules,
  type TypedValue,
  type TypedValueWithPath,
  toTypedValue,
  tryGetDataType,
  UCUM,
  validationError,
  validationRegexes,
} from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { readElement, readTypedProperty, withPath } from './read-typed-property.js';

type Constraint = NonNullable<InternalSchemaElement['constraints']>[number];

/** Invariants Medplum does not evaluate (ele-1 is check-resource-rules.ts's; dom-3 needs descendants()). */
const SKIPPED_CONSTRAINTS: Record<string, boolean> = {
  'ele-1': true,
  'dom-3': true,
  'org-1': true,
  'sdf-19': true,
};

const FHIRPATH_CACHE = new LRUCache<FhirPathAtom>(1_000);
const HL7_TYPES = 'http://hl7.org/fhir/StructureDefinition/';
const MEDPLUM_TYPES = 'https://medplum.com/fhir/StructureDefinition/';

/** Medplum's `validateResource(resource)`: throws OperationOutcomeError when an issue is an error. */
export function validateResourceAgainstBase(resource: Resource): OperationOutcomeIssue[] {
  if (!resource.resourceType) throw new OperationOutcomeError(validationError('Missing resource type'));
  return new SchemaValidator(toTypedValue(resource)).validate();
}

/** Medplum's `validateTypedValue(value)`: the schema is the one registered under `value.type`. */
export function validateTypedValueAgainstSchema(typedValue: TypedValue): OperationOutcomeIssue[] {
  return new SchemaValidator(typedValue).validate();
}

class SchemaValidator {
  private readonly issues: OperationOutcomeIssue[] = [];
  private readonly currentResource: Resource[] = [];
  private readonly schema: InternalTypeSchema;

  constructor(private readonly root: TypedValue) {
    if (isResource(root.value)) this.currentResource.push(root.value);
    this.schema = getDataType(root.type);
  }

  validate(): OperationOutcomeIssue[] {
    this.constraintsCheck({ ...this.root, path: this.schema.path }, this.schema);
    checkObjectForNull(this.root.value as Record<string, unknown>, this.schema.path, this.issues);
    this.crawlObject({ ...this.root, path: this.schema.path }, this.schema, this.schema.path);
    if (this.issues.some((issue) => issue.severity === 'error')) {
      throw new OperationOutcomeError({ resourceType: 'OperationOutcome', issue: this.issues });
    }
    return this.issues;
  }

  private crawlObject(obj: TypedValueWithPath, schema: InternalTypeSchema, path: string): void {
    const objIsResource = isResource(obj.value);
    if (objIsResource) this.currentResource.push(obj.value as Resource);
    const prefix = obj.path ? `${obj.path}.` : '';
    // Medplum reads each property through the registered schema of the value's type; when that is the
    // schema crawled (always, unless a schema was replaced meanwhile), its element is the one at hand.
    const own = tryGetDataType(obj.type) === schema;
    for (const key of elementKeys(schema)) {
      let propertyValues: (TypedValueWithPath | TypedValueWithPath[])[];
      if (key === '$this' || key.includes('.')) {
        propertyValues = getNestedProperty(obj, key, { withPath: true });
      } else {
        const element = schema.elements[key];
        const found = own && element ? readElement(obj, element) : readTypedProperty(obj, key);
        if (found === undefined) {
          // What visitProperty does with Medplum's `{ type: 'undefined' }` value, without building it.
          if (!element) throw new Error(`Missing element validation schema for ${key}`);
          if (element.min > 0)
            this.issues.push(createStructureIssue(prefix + key, 'Missing required property'));
          continue;
        }
        propertyValues = [withPath(found, prefix, key)];
      }
      const propertyPath = `${path}.${key}`;
      this.visitProperty(key, propertyPath, propertyValues, schema);
      for (const propertyValue of propertyValues) {
        if (!propertyValue) continue;
        for (const value of arrayify(propertyValue) as TypedValueWithPath[]) {
          if (!isPrimitiveType(value.type)) this.crawlObject(value, getDataType(value.type), propertyPath);
        }
      }
    }
    this.checkAdditionalProperties(obj, schema.elements, obj.path);
    if (objIsResource) this.currentResource.pop();
  }

  private visitProperty(
    key: string,
    path: string,
    propertyValues: (TypedValueWithPath | TypedValueWithPath[])[],
    schema: InternalTypeSchema,
  ): void {
    const element = schema.elements[key];
    if (!element) throw new Error(`Missing element validation schema for ${key}`);
    for (const value of propertyValues) {
      if (!this.checkPresence(value, element, path)) return;
      let values: TypedValueWithPath[];
      if (element.isArray) {
        if (!Array.isArray(value)) {
          this.issues.push(createStructureIssue(path, 'Expected array of values for property'));
          return;
        }
        values = value;
      } else {
        if (Array.isArray(value)) {
          this.issues.push(createStructureIssue(path, 'Expected single value for property'));
          return;
        }
        values = [value];
      }
      if (values.length < element.min || values.length > element.max) {
        const max = Number.isFinite(element.max) ? element.max : '*';
        this.issues.push(
          createStructureIssue(
            element.path,
            `Invalid number of values: expected ${element.min}..${max}, but found ${values.length}`,
          ),
        );
      }
      if (!matchesSpecifiedValue(value, element)) {
        this.issues.push(createStructureIssue(path, 'Value did not match expected pattern'));
      }
      const sliceCounts: Record<string, number> | undefined = element.slicing
        ? Object.fromEntries(element.slicing.slices.map((s) => [s.name, 0]))
        : undefined;
      for (const one of values) {
        this.constraintsCheck(one, element);
        this.referenceTypeCheck(one, element);
        this.checkPropertyValue(one);
        const sliceName = checkSliceElement(one, element.slicing);
        if (sliceName && sliceCounts) sliceCounts[sliceName] = (sliceCounts[sliceName] as number) + 1;
      }
      this.validateSlices(element, sliceCounts, path);
    }
  }

  private checkPresence(
    value: TypedValueWithPath | TypedValueWithPath[],
    element: InternalSchemaElement,
    path: string,
  ): boolean {
    if (!Array.isArray(value) && value.value === undefined) {
      if (element.min > 0) this.issues.push(createStructureIssue(value.path, 'Missing required property'));
      return false;
    }
    // Medplum's isEmpty(value): a TypedValueWithPath always has keys; only an empty array is empty.
    if (Array.isArray(value) && value.length === 0) {
      this.issues.push(createStructureIssue(path, 'Invalid empty value'));
      return false;
    }
    return true;
  }

  private checkPropertyValue(value: TypedValueWithPath): void {
    if (isPrimitiveType(value.type)) this.validatePrimitiveType(value);
    else if (isEmptyValue(value.value)) {
      this.issues.push(createStructureIssue(value.path, 'Invalid empty non-primitive value'));
    }
  }

  private validateSlices(
    element: InternalSchemaElement,
    counts: Record<string, number> | undefined,
    path: string,
  ): void {
    const slices = element.slicing?.slices;
    if (!slices || !counts) return;
    for (const slice of slices) {
      const found = counts[slice.name] as number;
      if (found < slice.min || found > slice.max) {
        const max = Number.isFinite(slice.max) ? slice.max : '*';
        this.issues.push(
          createStructureIssue(
            path,
            `Incorrect number of values provided for slice '${slice.name}': expected ${slice.min}..${max}, but found ${found}`,
          ),
        );
      }
    }
  }

  private checkAdditionalProperties(
    parent: TypedValueWithPath,
    properties: Record<string, InternalSchemaElement>,
    path: string,
  ): void {
    const object = parent.value as Record<string, unknown> | undefined;
    if (!object) return;
    const choiceOfTypeElements: Record<string, string> = {};
    for (const key of Object.keys(object)) {
      if (key === 'resourceType') continue;
      const choiceOfTypeElementName = isChoiceOfType(parent, key, properties);
      if (choiceOfTypeElementName) {
        let relatedElementName: string;
        let requiredRelatedElementName: string;
        if (choiceOfTypeElementName.startsWith('_')) {
          relatedElementName = choiceOfTypeElementName.slice(1);
          requiredRelatedElementName = key.slice(1);
        } else {
          relatedElementName = `_${choiceOfTypeElementName}`;
          requiredRelatedElementName = `_${key}`;
        }
        if (
          relatedElementName in choiceOfTypeElements &&
          choiceOfTypeElements[relatedElementName] !== requiredRelatedElementName
        ) {
          const name = choiceOfTypeElementName.startsWith('_')
            ? choiceOfTypeElementName.slice(1)
            : choiceOfTypeElementName;
          this.issues.push(
            createOperationOutcomeIssue(
              'warning',
              'structure',
              `Type of primitive extension does not match the type of property "${name}"`,
              choiceOfTypeElementName,
            ),
          );
        }
        if (choiceOfTypeElements[choiceOfTypeElementName]) {
          this.issues.push(
            createOperationOutcomeIssue(
              'warning',
              'structure',
              `Conflicting choice of type properties: "${key}", "${choiceOfTypeElements[choiceOfTypeElementName]}"`,
              key,
            ),
          );
        }
        choiceOfTypeElements[choiceOfTypeElementName] = key;
        continue;
      }
      if (!(key in properties) && !(key.startsWith('_') && key.slice(1) in properties)) {
        this.issues.push(createStructureIssue(`${path}.${key}`, `Invalid additional property "${key}"`));
      }
    }
  }

  private constraintsCheck(
    value: TypedValueWithPath,
    field: InternalTypeSchema | InternalSchemaElement,
  ): void {
    const constraints = field.constraints;
    if (!constraints) return;
    for (const constraint of constraints) {
      if (constraint.severity === 'error' && !(constraint.key in SKIPPED_CONSTRAINTS)) {
        if (!this.isExpressionTrue(constraint, value)) {
          this.issues.push(createConstraintIssue(value.path, constraint));
          return;
        }
      }
    }
  }

  private referenceTypeCheck(value: TypedValueWithPath, element: InternalSchemaElement): void {
    if (value.type !== 'Reference') return;
    const reference = value.value;
    if (!isReference(reference)) return;
    if (reference.reference.startsWith('#')) return;
    const referenceResourceType = reference.reference.includes('?')
      ? reference.reference.split('?')[0]
      : reference.reference.split('/')[0];
    if (!referenceResourceType) return;
    const targetProfiles = element.type.find((t) => t.code === 'Reference')?.targetProfile;
    if (!targetProfiles) return;
    for (const targetProfile of targetProfiles) {
      if (
        targetProfile === `${HL7_TYPES}Resource` ||
        targetProfile === HL7_TYPES + referenceResourceType ||
        targetProfile === MEDPLUM_TYPES + referenceResourceType
      ) {
        return;
      }
      if (!targetProfile.startsWith(HL7_TYPES) && !targetProfile.startsWith(MEDPLUM_TYPES)) return;
    }
    this.issues.push(
      createOperationOutcomeIssue(
        'warning',
        'structure',
        `Invalid reference: got "${referenceResourceType}", expected "${targetProfiles.join('", "')}"`,
        value.path,
      ),
    );
  }

  private isExpressionTrue(constraint: Constraint, value: TypedValueWithPath): boolean {
    const variables: Record<string, TypedValue> = { '%context': value, '%ucum': toTypedValue(UCUM) };
    const current = this.currentResource[this.currentResource.length - 1];
    if (current !== undefined) variables['%resource'] = toTypedValue(current);
    if (isResource(this.root.value)) variables['%rootResource'] = this.root;
    try {
      const result = evalFhirPathTyped(constraint.expression, [value], variables, FHIRPATH_CACHE);
      return result.length === 1 && result[0]?.value === true;
    } catch (error) {
      this.issues.push(
        createProcessingIssue(value.path, 'Error evaluating invariant expression', error as Error, {
          fhirpath: constraint.expression,
        }),
      );
      return false;
    }
  }

  private validatePrimitiveType(typedValue: TypedValueWithPath): void {
    const [primitiveValue, extensionElement] = unpackPrimitiveElement(typedValue);
    const path = typedValue.path;
    if (primitiveValue) {
      const { type, value } = primitiveValue;
      if (!(type in fhirTypeToJsType)) {
        this.issues.push(createStructureIssue(path, `Invalid JSON type: ${type} is not a valid FHIR type`));
        return;
      }
      const expectedType = fhirTypeToJsType[type as keyof typeof fhirTypeToJsType];
      if (typeof value !== expectedType) {
        if (value !== null) {
          this.issues.push(
            createStructureIssue(
              path,
              `Invalid JSON type: expected ${expectedType}, but got ${typeof value}`,
            ),
          );
        }
        return;
      }
      if (expectedType === 'string') this.validateString(value as string, type, path);
      else if (expectedType === 'number') this.validateNumber(value as number, type, path);
    }
    if (extensionElement) {
      const element = { ...extensionElement, path };
      this.crawlObject(element, getDataType('Element'), path);
    }
  }

  private validateString(str: string, type: string, path: string): void {
    if (!str.trim()) {
      this.issues.push(createStructureIssue(path, 'String must contain non-whitespace content'));
      return;
    }
    // R4 datatypes.html#string: at most 1 MB
    if (str.length > 1024 * 1024) {
      this.issues.push(createStructureIssue(path, 'String cannot be larger than 1 MB'));
      return;
    }
    const regex = validationRegexes[type];
    if (regex && !regex.exec(str)) this.issues.push(createStructureIssue(path, `Invalid ${type} format`));
  }

  private validateNumber(n: number, type: string, path: string): void {
    if (Number.isNaN(n) || !Number.isFinite(n)) {
      this.issues.push(createStructureIssue(path, 'Invalid numeric value'));
    } else if (isIntegerType(type) && !Number.isInteger(n)) {
      this.issues.push(createStructureIssue(path, 'Expected number to be an integer'));
    } else if (type === PropertyType.positiveInt && n <= 0) {
      this.issues.push(createStructureIssue(path, 'Expected number to be positive'));
    } else if (type === PropertyType.unsignedInt && n < 0) {
      this.issues.push(createStructureIssue(path, 'Expected number to be non-negative'));
    }
  }
}

const ELEMENT_KEYS = new WeakMap<InternalTypeSchema, readonly string[]>();

/** `Object.keys(schema.elements)`, kept per schema (a schema is not changed once parsed). */
function elementKeys(schema: InternalTypeSchema): readonly string[] {
  let keys = ELEMENT_KEYS.get(schema);
  if (keys === undefined) {
    keys = Object.keys(schema.elements);
    ELEMENT_KEYS.set(schema, keys);
  }
  return keys;
}

function isIntegerType(type: string): boolean {
  return (
    type === PropertyType.integer || type === PropertyType.positiveInt || type === PropertyType.unsignedInt
  );
}

/**
 * Medplum's choice-of-type test: the key split before each capital letter, prefix by prefix,
 * looked up as `prefix[x]` (Medplum splits with a regex per key of every object).
 */
function isChoiceOfType(
  typedValue: TypedValue,
  key: string,
  properties: Record<string, InternalSchemaElement>,
): string | undefined {
  let prefix = '';
  let name = key;
  if (name.startsWith('_')) {
    name = name.slice(1);
    prefix = '_';
  }
  for (let end = 1; end <= name.length; end++) {
    if (end < name.length && !isCapital(name.charCodeAt(end))) continue;
    const testProperty = name.slice(0, end);
    const elementName = `${testProperty}[x]`;
    if (properties[elementName]) {
      return readTypedProperty(typedValue, testProperty) ? prefix + elementName : undefined;
    }
  }
  return undefined;
}

function isCapital(code: number): boolean {
  return code >= 65 && code <= 90;
}

/** Medplum's null check; element paths are built only where an issue or a nested object needs one. */
function checkObjectForNull(
  obj: Record<string, unknown>,
  path: string,
  issues: OperationOutcomeIssue[],
): void {
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === null) {
      issues.push(createStructureIssue(`${path}.${key}`, 'Invalid null value'));
    } else if (Array.isArray(value)) {
      const propertyPath = `${path}.${key}`;
      for (let i = 0; i < value.length; i++) {
        if (value[i] === undefined) {
          issues.push(createStructureIssue(`${propertyPath}[${i}]`, 'Invalid undefined value'));
        } else if (value[i] === null && !(obj[partnerKey(key)] as unknown[] | undefined)?.[i]) {
          // json.html §2.6.2: null only pads an array of primitives whose `_` partner holds that index
          issues.push(createStructureIssue(`${propertyPath}[${i}]`, 'Invalid null value'));
        } else if (value[i]) {
          checkObjectForNull(value[i] as Record<string, unknown>, `${propertyPath}[${i}]`, issues);
        }
      }
    } else if (typeof value === 'object') {
      checkObjectForNull(value as Record<string, unknown>, `${path}.${key}`, issues);
    }
  }
}

function partnerKey(key: string): string {
  return key.startsWith('_') ? key.slice(1) : `_${key}`;
}

/** Medplum's `isEmpty` without listing an object's keys to count them. */
function isEmptyValue(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (typeof v === 'string') return v === '';
  if (typeof v !== 'object') return false;
  if ('length' in v && (v as { length: number }).length > 0) return false;
  for (const key in v) if (Object.hasOwn(v, key)) return false;
  return true;
}

function matchesSpecifiedValue(value: TypedValue | TypedValue[], element: InternalSchemaElement): boolean {
  if (!element.pattern && !element.fixed) return true;
  const typeAndValue = Array.isArray(value)
    ? value.map((v) => ({ type: v.type, value: v.value }))
    : { type: value.type, value: value.value };
  if (element.pattern && !deepIncludes(typeAndValue, element.pattern)) return false;
  if (element.fixed && !deepEquals(typeAndValue, element.fixed)) return false;
  return true;
}

function checkSliceElement(value: TypedValue, slicing: SlicingRules | undefined): string | undefined {
  if (!slicing) return undefined;
  for (const slice of slicing.slices) {
    if (
      slicing.discriminator.every((discriminator) =>
        arrayify(getNestedProperty(value, discriminator.path))?.some((v) =>
          matchDiscriminant(v, discriminator, slice),
        ),
      )
    ) {
      return slice.name;
    }
  }
  return undefined;
}

function unpackPrimitiveElement(v: TypedValue): [TypedValue | undefined, TypedValue | undefined] {
  if (typeof v.value !== 'object' || !v.value) return [v, undefined];
  const primitiveValue = v.value.valueOf();
  if (primitiveValue === v.value) return [undefined, { type: 'Element', value: v.value }];
  const primitiveKeys = new Set(Object.keys(primitiveValue));
  const extensionEntries = Object.entries(v.value).filter(([k]) => !primitiveKeys.has(k));
  const extensionElement = extensionEntries.length > 0 ? Object.fromEntries(extensionEntries) : undefined;
  return [
    { type: v.type, value: primitiveValue },
    { type: 'Element', value: extensionElement },
  ];
}
